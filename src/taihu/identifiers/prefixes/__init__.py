"""prefixes."""
