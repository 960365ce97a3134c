"""Domain: recovery."""
