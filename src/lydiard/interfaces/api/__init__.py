"""Lydiard interfaces.api."""
