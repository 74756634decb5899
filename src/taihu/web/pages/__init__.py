"""Console pages of the contexts, one module per context."""
