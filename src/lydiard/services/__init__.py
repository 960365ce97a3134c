"""Lydiard services."""
