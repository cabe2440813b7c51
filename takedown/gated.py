"""Evidence from login-gated sources, checked before it leaves in a packet.

A page fetched while logged in often says who is logged in ("Logged in as <our account>"),
and a packet goes to the platform, which may be the market's operator: sending that page
as captured burns the account. So, per source, `evidence.share` decides what of a gated
source's captures a packet may carry:

- ``full``: as captured (the operator accepts the risk); a capture that shows the account
  name is still named in the export's warnings.
- ``redacted`` (default): if the page is public, a fresh logged-out capture (through the
  source's re-fetcher, `crawlers.refetch`) replaces the crawl's capture; otherwise the
  crawl's WARC records go in with every spelling of the account name replaced by
  ``[redacted]`` (new record IDs that refer to the originals; the report gives the
  original and the redacted hash). Screenshots cannot be searched for text, so they are
  left out.
- ``none``: no capture or screenshot of the source goes in.

The account names are the login's username and, when the site shows another name, a
display name: ``PREFIX_USERNAME`` / ``PREFIX_DISPLAY_NAME`` for ``env:PREFIX`` credentials,
``username`` / ``display_name`` for a secrets file (the password is never read here). Where
they cannot be read (the export runs where the crawler's credentials are not set), a
capture cannot be scanned, so it is withheld rather than sent unchecked. Everything done is
said in the export's warnings and on the listing's row of the report.
"""

import html
import io
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from core.errors import ListingwatchError
from core.settings import Settings
from crawlers.evidence import WarcWriter
from crawlers.recheck import judge
from crawlers.refetch import Refetcher, RefetchError, capture_hops
from crawlers.sources import Login, SourceConfig, source_by_name
from takedown.rows import PacketListing
from takedown.warcslice import slice_records

REDACTED = b"[redacted]"
LoggedOut = Callable[[PacketListing, SourceConfig], bytes | None]


def account_names(login: Login) -> list[str] | None:
    """The names the crawler's account goes by on the site, or None where they cannot be read here."""
    kind, _, rest = login.credentials.partition(":")
    if kind == "env":
        values = [os.environ.get(f"{rest}_USERNAME"), os.environ.get(f"{rest}_DISPLAY_NAME")]
    else:
        path, _, key = rest.partition("#")
        try:
            data = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return None
        entry = data.get(key) if isinstance(data, dict) else None
        values = [entry.get("username"), entry.get("display_name")] if isinstance(entry, dict) else []
    names = [str(v).strip() for v in values if v and str(v).strip()]
    return names or None


def name_pattern(names: list[str]) -> re.Pattern[bytes]:
    """Every spelling a name takes in a page or URL: raw, HTML-escaped, percent-encoded; any letter case."""
    spellings: set[bytes] = set()
    for name in names:
        for form in (name, html.escape(name), quote(name, safe=""), quote_plus(name)):
            spellings |= {form.encode(), form.replace("@", "&#64;").encode(), form.replace("@", "&#x40;").encode()}
    ordered = sorted(spellings, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(s) for s in ordered), re.IGNORECASE)


@dataclass
class _Record:
    raw: bytes
    kind: str
    record_id: str
    headers: list[tuple[str, str]]
    uri: str
    http_headers: StatusAndHeaders | None
    payload: bytes


def _records(data: bytes) -> list[_Record]:
    out = []
    iterator = ArchiveIterator(io.BytesIO(data))
    for record in iterator:
        payload = record.content_stream().read()
        iterator.read_to_end()
        start, length = iterator.get_record_offset(), iterator.get_record_length()
        out.append(
            _Record(
                raw=data[start : start + length],
                kind=record.rec_type,
                record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                headers=list(record.rec_headers.headers),
                uri=record.rec_headers.get_header("WARC-Target-URI") or "",
                http_headers=record.http_headers,
                payload=payload,
            )
        )
    return out


def _warc_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def redact_warc(data: bytes, pattern: re.Pattern[bytes]) -> tuple[bytes, int]:
    """The WARC with the pattern replaced in every record's HTTP headers and payload, and how many places.

    Records with nothing to replace are copied byte for byte. A changed record is written anew
    (new WARC-Record-ID, WARC-Refers-To the original, same WARC-Date), and a request record
    whose response changed is re-pointed at the new response.
    """
    records = _records(data)
    renamed: dict[str, str] = {}
    rewritten: list[tuple[_Record, bytes, int]] = []
    total = 0
    for record in records:
        payload, count = pattern.subn(REDACTED, record.payload)
        http = record.http_headers
        if http is not None:
            for i, (key, value) in enumerate(http.headers):
                new, found = pattern.subn(REDACTED, value.encode("latin-1", "replace"))
                count += found
                http.headers[i] = (key, new.decode("latin-1"))
            if count and http.get_header("Content-Length") is not None:
                http.replace_header("Content-Length", str(len(payload)))
        if count:
            renamed[record.record_id] = _warc_id()
        rewritten.append((record, payload, count))
        total += count
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    for record, payload, count in rewritten:
        concurrent = dict(record.headers).get("WARC-Concurrent-To")
        if not count and concurrent not in renamed:
            out.write(record.raw)
            continue
        keep = {"WARC-Date", "WARC-IP-Address", "WARC-Protocol", "WARC-Warcinfo-ID"}
        headers = {k: v for k, v in record.headers if k in keep}
        headers["WARC-Record-ID"] = renamed.get(record.record_id) or _warc_id()
        headers["WARC-Refers-To"] = record.record_id
        if concurrent:
            headers["WARC-Concurrent-To"] = renamed.get(concurrent, concurrent)
        if count:
            headers["WARC-Listingwatch-Redacted"] = f"crawler account name replaced by [redacted] in {count} places"
        warc = writer.create_warc_record(
            record.uri,
            record.kind,
            payload=io.BytesIO(payload),
            warc_headers_dict=headers,
            http_headers=record.http_headers,
        )
        writer.write_record(warc)
    return out.getvalue(), total


def logged_out_capture(settings: Settings) -> LoggedOut:
    """Fetch a listing's page again without logging in; its WARC records if the page still shows the listing."""

    def capture(entry: PacketListing, source: SourceConfig) -> bytes | None:
        writer = WarcWriter(settings.var_dir / "warc" / "takedown", f"logged-out-{source.name}", 1 << 30)
        try:
            with Refetcher(source, settings) as fetcher:
                page = fetcher.fetch(entry.listing.url)
            verdict, _ = judge(entry.listing, source, page.final.status, page.final.url, page.html)
            if verdict not in ("live", "changed"):
                return None
            last = capture_hops(writer, page.hops, "takedown-logged-out-capture")
        except RefetchError:
            return None
        finally:
            writer.close()
        assert last is not None
        found = slice_records(last.warc_file, {last.record_id}).get(last.record_id)
        return found.data if found else None

    return capture


def _drop(files: dict[str, bytes], entry: PacketListing, name: str) -> bool:
    entry.evidence_files = [f for f in entry.evidence_files if f != name]
    return files.pop(name, None) is not None


def _note(entry: PacketListing, warnings: list[str], text: str) -> None:
    entry.warc_check = f"{entry.warc_check} — {text}" if entry.warc_check else text
    warnings.append(f"{entry.listing.url}: {text}")


def _gate_one(
    entry: PacketListing, source: SourceConfig, files: dict[str, bytes], warnings: list[str], logged_out: LoggedOut
) -> None:
    capture = f"evidence/{entry.listing.id}/capture.warc.gz"
    screenshot = f"evidence/{entry.listing.id}/screenshot.png"
    share = source.evidence.share
    names = account_names(source.login) if source.login else None
    pattern = name_pattern(names) if names else None
    shows_name = pattern is not None and capture in files and bool(pattern.search(_searchable(files[capture])))
    if share == "full":
        if shows_name:
            warnings.append(f"{entry.listing.url}: the capture shows the crawler account's name (evidence.share: full)")
        return
    if share == "none":
        withheld = [
            what for what, name in (("capture", capture), ("screenshot", screenshot)) if _drop(files, entry, name)
        ]
        if withheld:
            _note(entry, warnings, f"{' and '.join(withheld)} withheld: source {source.name} shares no evidence")
        return
    if _drop(files, entry, screenshot):
        _note(entry, warnings, "screenshot left out: a logged-in page's image cannot be checked for the account name")
    if capture not in files:
        return
    public = logged_out(entry, source)
    if public is not None and not (pattern and pattern.search(_searchable(public))):
        files[capture] = public
        _note(entry, warnings, "the page is public: a logged-out capture made at export replaces the logged-in one")
    elif pattern is None:
        _drop(files, entry, capture)
        how = source.login.credentials if source.login else "the login"
        _note(entry, warnings, f"capture withheld: the account name ({how}) is not set here, so it was not checked")
    elif shows_name:
        redacted, count = redact_warc(files[capture], pattern)
        files[capture] = redacted
        _note(
            entry,
            warnings,
            f"the crawler account's name was redacted from the capture in {count} places; the recorded SHA-256 "
            "is of the unredacted capture, which the sender keeps",
        )


def _searchable(data: bytes) -> bytes:
    """Every record's headers and payload of a WARC slice, decompressed, for searching."""
    return b"\n".join(
        b"\n".join(
            f"{k}: {v}".encode("latin-1", "replace") for k, v in (r.http_headers.headers if r.http_headers else [])
        )
        + b"\n"
        + r.payload
        for r in _records(data)
    )


Gate = Callable[[list[PacketListing], dict[str, bytes], list[str]], dict[str, bytes]]


def gate_evidence(settings: Settings, logged_out: LoggedOut | None = None) -> Gate:
    """The packet hook: apply each gated source's `evidence.share` to the packet's evidence files."""
    fetch_public = logged_out or logged_out_capture(settings)

    def gate(entries: list[PacketListing], files: dict[str, bytes], warnings: list[str]) -> dict[str, bytes]:
        sources: dict[str, SourceConfig | None] = {}
        for entry in entries:
            name = entry.listing.source
            if name not in sources:
                try:
                    sources[name] = source_by_name(settings.crawl.sources_dir, name)
                except ListingwatchError:
                    sources[name] = None
            source = sources[name]
            if source is None:
                warnings.append(f"{entry.listing.url}: source {name!r} is not configured; evidence sent as captured")
            elif source.login is not None or source.evidence.share == "none":
                _gate_one(entry, source, files, warnings, fetch_public)
        return files

    return gate
