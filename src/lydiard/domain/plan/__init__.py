"""Domain: plan."""
