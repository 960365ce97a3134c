"""Lydiard interfaces.web."""
