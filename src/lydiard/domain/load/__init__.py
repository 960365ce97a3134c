"""Domain: load."""
