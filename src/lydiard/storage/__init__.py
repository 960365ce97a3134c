"""Lydiard storage."""
