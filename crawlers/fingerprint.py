"""Request fingerprints on canonical URLs, so the dupefilter (and JOBDIR's seen-set) treat
``/item/1?utm_source=x#top`` and ``/item/1`` as one page and a resumed crawl never refetches it.

A route fragment (``#/item/7``) is part of the page, so ``/app#/item/7`` and ``/app#/item/8`` are
two requests; on a source with ``links.keep_fragments`` every fragment is.
"""

import hashlib
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler

from core.urls import canonical_url

KEEP_FRAGMENTS_SETTING = "LISTINGWATCH_KEEP_FRAGMENTS"


class CanonicalFingerprinter:
    """Scrapy REQUEST_FINGERPRINTER_CLASS: method + canonical URL (with its identity fragment) + body."""

    def __init__(self, keep_fragments: bool = False) -> None:
        self.keep_fragments = keep_fragments

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getbool(KEEP_FRAGMENTS_SETTING))

    def fingerprint(self, request: Request) -> bytes:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(request.method.encode("ascii"))
        digest.update(canonical_url(request.url, self.keep_fragments).encode("utf-8"))
        digest.update(request.body or b"")
        return digest.digest()
