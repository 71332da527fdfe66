"""Punk ML: a faithful Punk API v2, a streaming beer-recipe lake and an IBU model."""

__version__ = "0.1.0"
