"""listingwatch: find online listings selling illicit synthetic drugs and turn them into evidence."""

__version__ = "0.1.0"
