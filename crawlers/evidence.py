"""Evidence capture: every fetched page goes into a WARC file; browser pages also get a PNG screenshot.

A takedown request or a court needs to see what the page said and when. WARC (ISO 28500)
keeps the request and the response with a UTC capture time; each record is its own gzip
member, so the byte offset stored on the listing lets anyone seek straight to it and
re-check the SHA-256. Files rotate by size so no single file grows unbounded.
"""

import hashlib
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from core.schema import Evidence
from core.urls import listing_id
from crawlers.login import scrub

SOFTWARE = "listingwatch crawler (Scrapy, warcio)"
_DROP_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization"}
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as the crawler saw it (Scrapy, or Chromium's network); `body` is decoded
    (Content-Encoding removed). `main`: the page's own document, not a sub-resource."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    main: bool = True


@dataclass(frozen=True)
class Capture:
    warc_file: Path
    offset: int
    record_id: str
    body_sha256: str
    captured_at: datetime
    rendered_record_id: str | None = None
    rendered_sha256: str | None = None
    screenshot_record_id: str | None = None

    def evidence(self) -> Evidence:
        """The listing's `evidence` for this capture: what a packet cites to find and check the record."""
        return Evidence(
            warc_file=str(self.warc_file),
            warc_offset=self.offset,
            warc_record_id=self.record_id,
            body_sha256=self.body_sha256,
            captured_at=self.captured_at,
            rendered_record_id=self.rendered_record_id,
            rendered_sha256=self.rendered_sha256,
            screenshot_record_id=self.screenshot_record_id,
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Request headers with session secrets blanked: evidence is shared with platforms and courts.

    Response ``Set-Cookie`` values are blanked for the same reason; the response body, which
    the listing's hash covers, is never altered.
    """
    return [(k, REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers]


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
        # Credential spellings never written into request records (login-gated sources).
        self.secrets: list[bytes] = []

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
        reason: str = "",
    ) -> Capture:
        """Write one exchange; the body is stored as the crawler saw it (decoded), with a matching Content-Length."""
        captured_at = datetime.now(UTC)
        exchange = Exchange(url, method, request_headers, request_body, status, reason, response_headers, body)
        offset, record_id = self._exchange(exchange, captured_at, extra_headers or {})
        return Capture(self.files[-1], offset, record_id, sha256_hex(body), captured_at)

    def capture_browser(
        self,
        exchanges: list[Exchange],
        *,
        url: str,
        dom: bytes,
        screenshot: bytes | None,
    ) -> tuple[Capture | None, dict[str, Capture]]:
        """Write a browser page as archivists do: network exchanges, then the DOM and screenshot pointing to them.

        The listing's record is the main document's ``response`` (the bytes the server sent);
        the rendered DOM is a ``conversion`` record whose ``WARC-Refers-To`` names it, and the
        screenshot a ``resource`` record (``urn:screenshot:<url>``) concurrent to it. Returns the
        main document's capture (None when none was recorded: the caller then archives the DOM
        alone) and the captures of sub-resources by URL.
        """
        mains = [e for e in exchanges if e.main]
        if not mains:
            return None, {}
        final = next((e for e in reversed(mains) if not 300 <= e.status < 400), mains[-1])
        captured_at = datetime.now(UTC)
        main_capture: Capture | None = None
        resources: dict[str, Capture] = {}
        for exchange in [*mains, *(e for e in exchanges if not e.main)]:
            offset, record_id = self._exchange(exchange, captured_at, {"WARC-Listingwatch-Render": "browser-network"})
            capture = Capture(self.files[-1], offset, record_id, sha256_hex(exchange.body), captured_at)
            if exchange is final:
                main_capture = capture
            elif not exchange.main and exchange.status == 200:
                resources[exchange.url] = capture
        assert main_capture is not None
        rendered = self.resource(
            url,
            "conversion",
            dom,
            "text/html; charset=utf-8",
            captured_at,
            {"WARC-Refers-To": main_capture.record_id},
        )
        shot = None
        if screenshot is not None:
            shot = self.resource(
                f"urn:screenshot:{url}",
                "resource",
                screenshot,
                "image/png",
                captured_at,
                {"WARC-Concurrent-To": main_capture.record_id},
            )
        page = replace(
            main_capture, rendered_record_id=rendered, rendered_sha256=sha256_hex(dom), screenshot_record_id=shot
        )
        return page, resources

    def resource(
        self,
        uri: str,
        rec_type: str,
        data: bytes,
        content_type: str,
        captured_at: datetime,
        extra_headers: dict[str, str],
    ) -> str:
        """A ``resource``/``conversion`` record (no HTTP envelope); returns its WARC-Record-ID."""
        writer = self._current()
        record = writer.create_warc_record(
            uri,
            rec_type,
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": _warc_date(captured_at), **extra_headers},
        )
        writer.write_record(record)
        return str(record.rec_headers.get_header("WARC-Record-ID"))

    def _exchange(self, exchange: Exchange, captured_at: datetime, extra_headers: dict[str, str]) -> tuple[int, str]:
        writer = self._current()
        assert self._fh is not None
        warc_date = _warc_date(captured_at)
        request_headers = [(k, self._scrub_text(v)) for k, v in redact_headers(exchange.request_headers)]
        request_body = scrub(exchange.request_body, self.secrets)
        headers = [
            (k, REDACTED if k.lower() == "set-cookie" else v)
            for k, v in exchange.response_headers
            if k.lower() not in _DROP_HEADERS
        ]
        headers.append(("Content-Length", str(len(exchange.body))))
        statusline = f"{exchange.status} {exchange.reason}".strip()
        response = writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=StatusAndHeaders(statusline, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": warc_date, **extra_headers},
        )
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        parts = urlsplit(exchange.url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        request_line = f"{exchange.method} {target} HTTP/1.1"
        request = writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(request_body),
            length=len(request_body),
            http_headers=StatusAndHeaders(request_line, request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": warc_date, "WARC-Concurrent-To": record_id},
        )
        writer.write_record(request)
        offset = self._fh.tell()
        writer.write_record(response)
        return offset, record_id

    def _scrub_text(self, value: str) -> str:
        return scrub(value.encode("latin-1", "replace"), self.secrets).decode("latin-1") if self.secrets else value

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
