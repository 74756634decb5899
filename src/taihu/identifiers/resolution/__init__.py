"""resolution."""
