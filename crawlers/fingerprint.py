"""Request fingerprints on canonical URLs, so the dupefilter (and JOBDIR's seen-set) treat
``/item/1?utm_source=x#top`` and ``/item/1`` as one page and a resumed crawl never refetches it."""

import hashlib

from scrapy import Request

from core.urls import canonical_url


class CanonicalFingerprinter:
    """Scrapy REQUEST_FINGERPRINTER_CLASS: method + canonical URL + body."""

    def fingerprint(self, request: Request) -> bytes:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(request.method.encode("ascii"))
        digest.update(canonical_url(request.url).encode("utf-8"))
        digest.update(request.body or b"")
        return digest.digest()
