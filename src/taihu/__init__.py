"""Taihu: an open industrial internet platform for a manufacturing district."""

__all__ = ["__version__"]

__version__ = "0.1.0"
