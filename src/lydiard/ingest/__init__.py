"""Lydiard ingest."""
