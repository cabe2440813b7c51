"""Evidence of login-gated sources before export: the crawler account's name never leaves unless share is full.

Captures are real WARC records written by the crawler's WarcWriter; the logged-out
re-capture goes to a real HTTP server on 127.0.0.1 that serves one listing publicly and
one only behind a login wall.
"""

import gzip
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from core.schema import Listing
from core.settings import Settings, load_settings
from crawlers.evidence import WarcWriter
from takedown.gated import gate_evidence, name_pattern, redact_warc
from takedown.notice import Review
from takedown.packet import build_packet
from takedown.platforms import load_registry
from takedown.rows import PacketListing
from takedown.warcslice import slice_records
from takedown.workflow import packet_options

ACCOUNT = "Crawler.Acct@example.org"
SPELLINGS = [b"crawler.acct@example.org", b"crawler.acct%40example.org", b"Crawler.Acct&#64;example.org"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LISTING = "<h1>M30 blues 100x</h1><p>pressed pills, ships daily</p>"
LOGGED_IN = (
    f'<html><body><nav>Logged in as <b>{ACCOUNT}</b> <a href="/u/crawler.acct%40example.org">profile</a> '
    f"mail: Crawler.Acct&#64;example.org</nav>{LISTING}</body></html>"
).encode()


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[str]]]:
    """(base URL, paths asked): /public/N shows the listing to anyone, /gated/N only a login form."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path.startswith("/gated/"):
                self.send_response(302)
                self.send_header("Location", "/login")
                self.end_headers()
                return
            if self.path == "/login":
                body = '<form method="post"><input name="u"><input type="password" name="p"></form>'
            else:
                body = LISTING
            data = f"<html><body>{body}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def _settings(tmp_path: Path, site: str, share: str, login: bool = True) -> Settings:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    config = {
        "name": "members",
        "platform": "Local Members Forum",
        "start_urls": [f"{site}/"],
        "allowed_domains": ["127.0.0.1"],
        "private_networks": ["127.0.0.1/32"],
        "links": {"listings": {}},
        "fields": {"title": "h1", "description": "p"},
        "evidence": {"share": share},
    }
    if login:
        config["login"] = {
            "url": f"{site}/login",
            "username_field": "input[name=u]",
            "password_field": "input[name=p]",
            "credentials": "env:GATED_TEST",
            "logged_in": "nav",
        }
    (sources / "members.yaml").write_text(json.dumps(config))
    return load_settings(home=tmp_path, var_dir=tmp_path / "var", crawl={"sources_dir": sources})


def _entry(tmp_path: Path, url: str) -> tuple[PacketListing, dict[str, bytes]]:
    """A listing as the crawler captured it while logged in, and the packet files `_evidence` would give."""
    writer = WarcWriter(tmp_path / "crawl", "members", 10_000_000)
    headers = [("Content-Type", "text/html; charset=utf-8")]
    capture = writer.capture(
        url=url, method="GET", request_headers=[("User-Agent", "bot")], request_body=b"", status=200,
        response_headers=headers, body=LOGGED_IN,
    )  # fmt: skip
    writer.close()
    listing = Listing(
        url=url, source="members", platform="Local Members Forum", title="M30 blues 100x",
        description="pressed pills, ships daily",
    )  # fmt: skip
    listing.evidence.warc_file = str(capture.warc_file)
    listing.evidence.warc_record_id = capture.record_id
    listing.evidence.body_sha256 = capture.body_sha256
    files = {
        f"evidence/{listing.id}/capture.warc.gz": slice_records(capture.warc_file, {capture.record_id})[
            capture.record_id
        ].data,
        f"evidence/{listing.id}/screenshot.png": PNG,
    }
    entry = PacketListing(item_id=1, listing=listing, evidence_files=sorted(files))
    return entry, files


def _text(warc: bytes) -> bytes:
    return gzip.decompress(warc)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATED_TEST_USERNAME", ACCOUNT)
    monkeypatch.setenv("GATED_TEST_PASSWORD", "not read here")


def test_redacting_a_warc_replaces_every_spelling_and_stays_a_valid_warc(tmp_path: Path) -> None:
    entry, files = _entry(tmp_path, "http://127.0.0.1:1/gated/1")
    original = files[f"evidence/{entry.listing.id}/capture.warc.gz"]
    redacted, count = redact_warc(original, name_pattern([ACCOUNT]))
    assert count == 3
    text = _text(redacted)
    assert not any(s.lower() in text.lower() for s in SPELLINGS) and b"M30 blues 100x" in text
    records = {r.rec_type: r for r in _read(redacted)}
    response, request = records["response"], records["request"]
    assert response["WARC-Refers-To"] == entry.listing.evidence.warc_record_id
    assert response["WARC-Record-ID"] != entry.listing.evidence.warc_record_id
    assert request["WARC-Concurrent-To"] == response["WARC-Record-ID"]
    assert int(response.http_headers.get_header("Content-Length")) == len(response.payload)
    assert redact_warc(redacted, name_pattern([ACCOUNT])) == (redacted, 0)  # nothing left: copied as is


class _Read:
    def __init__(self, rec_type: str, headers: dict[str, str], http_headers: object, payload: bytes) -> None:
        self.rec_type, self.headers, self.http_headers, self.payload = rec_type, headers, http_headers, payload

    def __getitem__(self, key: str) -> str:
        return self.headers[key]


def _read(warc: bytes) -> list[_Read]:
    return [
        _Read(r.rec_type, dict(r.rec_headers.headers), r.http_headers, r.content_stream().read())
        for r in ArchiveIterator(io.BytesIO(warc))
    ]


@dataclass
class _Gated:
    entry: PacketListing
    files: dict[str, bytes]  # the packet files as they were before gating
    out: dict[str, bytes]
    warnings: list[str]


def _gate(tmp_path: Path, base: str, path: str, share: str, login: bool = True) -> _Gated:
    """What `gate_evidence` makes of the packet files of one listing at `path`, captured logged in."""
    entry, files = _entry(tmp_path, f"{base}{path}")
    before = dict(files)
    warnings: list[str] = []
    out = gate_evidence(_settings(tmp_path, base, share, login))([entry], files, warnings)
    return _Gated(entry, before, out, warnings)


def test_a_public_page_goes_in_as_a_fresh_logged_out_capture(
    site: tuple[str, list[str]], tmp_path: Path, account: None
) -> None:
    base, _ = site
    gated = _gate(tmp_path, base, "/public/1", "redacted")
    capture = f"evidence/{gated.entry.listing.id}/capture.warc.gz"
    assert list(gated.out) == [capture]
    text = _text(gated.out[capture])
    assert b"M30 blues 100x" in text and b"takedown-logged-out-capture" in text
    assert not any(s.lower() in text.lower() for s in SPELLINGS)
    assert gated.entry.evidence_files == [capture]
    assert any("screenshot left out" in w for w in gated.warnings)
    assert any("logged-out capture" in w for w in gated.warnings)
    assert "logged-out capture" in (gated.entry.warc_check or "")


def test_a_gated_page_goes_in_redacted_without_its_screenshot(
    site: tuple[str, list[str]], tmp_path: Path, account: None
) -> None:
    base, _ = site
    gated = _gate(tmp_path, base, "/gated/2", "redacted")
    text = _text(gated.out[f"evidence/{gated.entry.listing.id}/capture.warc.gz"])
    assert not any(s.lower() in text.lower() for s in SPELLINGS) and b"[redacted]" in text
    assert f"evidence/{gated.entry.listing.id}/screenshot.png" not in gated.out
    assert any("redacted from the capture in 3 places" in w for w in gated.warnings)


def test_without_the_account_name_a_gated_capture_is_withheld(
    site: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = site
    monkeypatch.delenv("GATED_TEST_USERNAME", raising=False)
    gated = _gate(tmp_path, base, "/gated/3", "redacted")
    assert gated.out == {}
    assert any("capture withheld" in w and "env:GATED_TEST" in w for w in gated.warnings)


def test_share_none_withholds_everything_without_fetching(
    site: tuple[str, list[str]], tmp_path: Path, account: None
) -> None:
    base, asked = site
    gated = _gate(tmp_path, base, "/public/4", "none")
    assert gated.out == {}
    assert "/public/4" not in asked and gated.entry.evidence_files == []
    assert any("capture and screenshot withheld" in w for w in gated.warnings)


def test_share_full_sends_as_captured_and_says_the_name_is_in_it(
    site: tuple[str, list[str]], tmp_path: Path, account: None
) -> None:
    base, _ = site
    gated = _gate(tmp_path, base, "/public/5", "full")
    assert gated.out == gated.files
    assert any("shows the crawler account's name" in w for w in gated.warnings)


def test_a_public_source_is_left_as_captured(site: tuple[str, list[str]], tmp_path: Path, account: None) -> None:
    base, asked = site
    gated = _gate(tmp_path, base, "/public/6", "redacted", login=False)
    assert gated.out == gated.files
    assert gated.warnings == [] and "/public/6" not in asked


@pytest.mark.slow
def test_the_packet_says_what_was_redacted_and_carries_no_account_name(
    site: tuple[str, list[str]], tmp_path: Path, account: None
) -> None:
    base, _ = site
    settings = _settings(tmp_path, base, "redacted")
    entry, _ = _entry(tmp_path, f"{base}/gated/7")
    registry = load_registry()
    options = packet_options(settings)  # the export's own options: the gate is on
    packet = build_packet(
        [entry],
        registry.catch_all,
        tmp_path / "packets",
        options,
        datetime.now(UTC),
        reviews={entry.listing.id: Review("analyst", "ana", "2026-03-01T10:00:00Z")},
        custody={},
    )
    with zipfile.ZipFile(packet.path) as archive:
        names = archive.namelist()
        everything = b"".join(
            _text(archive.read(n)) if n.endswith(".warc.gz") else archive.read(n)
            for n in names
            if not n.endswith(".pdf")
        )
        report = archive.read("report.html").decode()
    assert f"evidence/{entry.listing.id}/capture.warc.gz" in names and not any(n.endswith(".png") for n in names)
    assert not any(s.lower() in everything.lower() for s in SPELLINGS)
    assert "redacted from the capture in 3 places" in report
    assert any("redacted" in w for w in packet.warnings)
