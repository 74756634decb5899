"""snms."""
