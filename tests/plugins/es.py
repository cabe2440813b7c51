"""Fixtures for the es area."""
