"""Lydiard interfaces."""
