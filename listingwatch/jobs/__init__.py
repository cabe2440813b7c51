"""Scheduled jobs other than a source's run: re-checking flagged listings, retraining the model."""
