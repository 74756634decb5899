"""Console pages of the pillars, one module per context."""
