"""Lydiard batch."""
