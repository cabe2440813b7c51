"""Pure functions that turn listing text and HTML into structured fields (no Scrapy, no I/O)."""
