"""Evidence capture: every fetched page goes into a WARC file; browser pages also get a PNG screenshot.

A takedown request or a court needs to see what the page said and when. WARC (ISO 28500)
keeps the request and the response with a UTC capture time; each record is its own gzip
member, so the byte offset stored on the listing lets anyone seek straight to it and
re-check the SHA-256. Files rotate by size so no single file grows unbounded.
"""

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from listingwatch.urls import listing_id

SOFTWARE = "listingwatch crawler (Scrapy, warcio)"
_DROP_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}


@dataclass(frozen=True)
class Capture:
    warc_file: Path
    offset: int
    record_id: str
    body_sha256: str
    captured_at: datetime


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class WarcWriter:
    """Appends request/response pairs to size-rotated ``<source>-<UTC>-<n>.warc.gz`` files in one directory."""

    def __init__(self, directory: Path, source: str, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.source = source
        self.max_bytes = max_bytes
        self.files: list[Path] = []
        self._fh: io.BufferedWriter | None = None
        self._writer: WARCWriter | None = None
        self._stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    def _open_next(self) -> WARCWriter:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.source}-{self._stamp}-{len(self.files) + 1:05d}.warc.gz"
        self._fh = path.open("ab")
        self._writer = WARCWriter(self._fh, gzip=True)
        info = self._writer.create_warcinfo_record(path.name, {"software": SOFTWARE, "format": "WARC File Format 1.1"})
        self._writer.write_record(info)
        self.files.append(path)
        return self._writer

    def _current(self) -> WARCWriter:
        if self._writer is None or self._fh is None or self._fh.tell() >= self.max_bytes:
            return self._open_next()
        return self._writer

    def capture(
        self,
        *,
        url: str,
        method: str,
        request_headers: list[tuple[str, str]],
        request_body: bytes,
        status: int,
        response_headers: list[tuple[str, str]],
        body: bytes,
        extra_headers: dict[str, str] | None = None,
    ) -> Capture:
        """Write one exchange; the body is stored as the crawler saw it (decoded), with a matching Content-Length."""
        writer = self._current()
        assert self._fh is not None
        captured_at = datetime.now(UTC)
        warc_date = captured_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = [(k, v) for k, v in response_headers if k.lower() not in _DROP_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        response = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(f"{status}", headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": warc_date, **(extra_headers or {})},
        )
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(request_body),
            length=len(request_body),
            http_headers=StatusAndHeaders(f"{method} {target} HTTP/1.1", request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
        )
        writer.write_record(request)
        offset = self._fh.tell()
        writer.write_record(response)
        return Capture(self.files[-1], offset, record_id, sha256_hex(body), captured_at)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._writer = None


def save_screenshot(directory: Path, url: str, png: bytes) -> tuple[Path, str]:
    """Store a PNG named by listing ID and capture time; returns (path, sha256)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{listing_id(url)}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.png"
    path.write_bytes(png)
    return path, sha256_hex(png)
