"""Watching the pipeline for people: alerts, the whole timeline of a listing, and crawl schedules that follow activity.

It reads the index and the store (and the takedown registry for promised response times)
and sends messages; the shells (`listingwatch`, `webapp`) call it, the stages never do.
"""
