"""Canonical listing URLs and the stable document IDs derived from them.

One listing is one canonical URL, so the same page reached with tracking parameters,
an anchor or a different query order must map to the same ID; re-runs then upsert
instead of duplicating. A fragment that is a route (``#/item/7``, ``#!/item/7``) is not an
anchor but the page itself in a single-page app, so it stays; a source whose items live at
plain ``#<id>`` keeps every fragment (``links.keep_fragments``).
"""

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# A directory's index file is the directory: "/" and "/index.html" are one page, fetched once.
_INDEX_FILE = re.compile(r"/index\.(?:html?|php)$", re.IGNORECASE)
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "ref", "ref_src", "igshid", "si"}
)


def is_route_fragment(fragment: str) -> bool:
    """``#/…`` and ``#!…`` are hash routes (and hashbangs): they name a page, never a place on one."""
    return fragment.startswith(("/", "!"))


def canonical_url(url: str, keep_fragments: bool = False) -> str:
    """Normalise a URL: lowercase host, default port dropped, tracking params and index.html removed.

    The fragment goes unless it is a route, or `keep_fragments` says every fragment on this source is one.
    """
    url = canonicalize_url(url.strip(), keep_fragments=True)
    parts = urlsplit(url)
    fragment = parts.fragment if keep_fragments or is_route_fragment(parts.fragment) else ""
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")
    ]
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal keeps its brackets
        netloc = f"[{netloc}]"
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)
    ):
        netloc = f"{netloc}:{parts.port}"
    path = _INDEX_FILE.sub("/", parts.path) or "/"
    return urlunsplit((parts.scheme.lower(), netloc.lower(), path, urlencode(sorted(query)), fragment))


def listing_id(url: str, keep_fragments: bool = False) -> str:
    """Stable document ID: SHA-256 (hex, first 32 chars) of the canonical URL."""
    return id_of_canonical(canonical_url(url, keep_fragments))


def id_of_canonical(url: str) -> str:
    """`listing_id` for a URL already in canonical form (canonicalising is the costly part)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
