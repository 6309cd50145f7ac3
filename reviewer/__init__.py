"""reviewer: make a model provider's silent behaviour change reviewable before it ships."""

__version__ = "0.1.0"
