"""handle."""
