"""Lydiard interfaces.api.routes."""
