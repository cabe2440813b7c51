"""One RFC 3161 token per crawl run over its WARC record digests, so "captured at" is proven at capture.

A packet's token proves the manifest existed at export; this one proves each capture's record
and payload hash existed when the crawl finished, days before anyone exported it. The stamped
file lists `<WARC-Record-ID> <payload SHA-256> <URL>` lines, sorted; anyone re-checks it with
`openssl ts -verify -data capture-digests.txt -in capture-digests.tsr -CAfile tsa-ca.pem`.
"""

import logging
from collections.abc import Iterable
from pathlib import Path

from core.schema import Listing
from core.settings import Settings
from takedown.timestamp import TimestampError, request_token

log = logging.getLogger(__name__)
DIGESTS = "capture-digests.txt"
STAMP_FILE = "capture-digests.tsr"


def digest_lines(listings: Iterable[Listing]) -> bytes:
    lines = sorted(
        {
            f"{item.evidence.warc_record_id} {item.evidence.body_sha256} {item.url}"
            for item in listings
            if item.evidence.warc_record_id and item.evidence.body_sha256
        }
    )
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def stamp_run(settings: Settings, run_dir: Path, listings: Iterable[Listing]) -> Path | None:
    """With a TSA configured, write the digest list and its token into the run folder; a TSA failure only warns."""
    if not settings.takedown.tsa_url:
        return None
    data = digest_lines(listings)
    (run_dir / DIGESTS).write_bytes(data)
    try:
        token = request_token(data, settings.takedown.tsa_url, settings.takedown.tsa_timeout)
    except TimestampError as err:
        log.warning("Capture digests of %s not timestamped: %s", run_dir, err)
        return None
    (run_dir / STAMP_FILE).write_bytes(token)
    return run_dir / STAMP_FILE
