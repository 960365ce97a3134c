"""Lydiard interfaces.cli."""
