"""What a page links or redirects to obeys the source's origins: a hostile page cannot point the crawler elsewhere.

Real HTTP on 127.0.0.1: one server is the site, a second one (another port, so another origin)
stands for a service the crawler must never reach (the index node, an admin page on the LAN).
"""

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from core.jsonl import read_jsonl
from core.schema import Listing
from core.settings import BROWSER_ARGS, Settings, load_settings
from crawlers.run import run_crawl
from crawlers.sources import SourceConfig

pytestmark = pytest.mark.integration


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


class _Server:
    """A local HTTP server answering `pages` (path -> (content type, body)) and counting every request."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]) -> None:
        self.pages = pages
        self.redirects: dict[str, str] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                kind, body = server.pages.get(self.path, ("text/plain", b""))
                self.send_response(200 if self.path in server.pages else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _archived(warc: Path) -> list[str]:
    """The target URI of every record in a WARC file."""
    with warc.open("rb") as fh:
        return [r.rec_headers.get_header("WARC-Target-URI") or "" for r in ArchiveIterator(fh)]


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server]]:
    internal = _Server({"/secret.jpg": ("image/jpeg", _jpeg())})
    item = (
        "<html><body><h1>M30 blues x100</h1><p>ships today</p>"
        f'<img src="/own.jpg"><img src="{internal.url}/secret.jpg"></body></html>'
    )
    site = _Server(
        {
            "/": ("text/html", b'<html><body><a href="/item/1">M30 blues</a></body></html>'),
            "/item/1": ("text/html", item.encode()),
            "/own.jpg": ("image/jpeg", _jpeg()),
        }
    )
    yield site, internal
    site.close()
    internal.close()


def _source(site: _Server, render: str, **keys: object) -> SourceConfig:
    """A source for the stand-in site: its index links /item/<n>, whose title is the page's h1."""
    return SourceConfig.model_validate(
        {
            "name": f"origins-{render}",
            "platform": "Local",
            "start_urls": [f"{site.url}/"],
            "allowed_domains": ["127.0.0.1"],
            "render": render,
            "links": {"listings": {"allow": [r"/item/\d+$"]}},
            "fields": {"title": "h1", "description": "p", "images": "img::attr(src)"},
            "browser": {"detail_wait_for": "h1", "screenshot": False},
            "photos": {"enabled": False},
            **keys,
        }
    )


@pytest.mark.parametrize("render", ["http", "browser"])
def test_a_photo_on_another_origin_is_not_taken(
    servers: tuple[_Server, _Server], crawl_settings: Settings, tmp_path: Path, render: str
) -> None:
    site, internal = servers
    source = _source(site, render, photos={"enabled": True, "ocr": False})
    report = run_crawl(source, crawl_settings, output=tmp_path / "out.jsonl", timeout_s=60)

    (listing,) = [item for _, item in read_jsonl(tmp_path / "out.jsonl", Listing.model_validate_json)]
    assert [p.url for p in listing.photos] == [f"{site.url}/own.jpg"]
    assert listing.images == [f"{site.url}/own.jpg", f"{internal.url}/secret.jpg"]  # the page's field, as written
    assert report.skipped.get("photo_failed") == 1
    if render == "http":  # the crawler never asked (a browser tab loads what the page links, as any browser)
        assert internal.hits == []


def test_a_browser_page_cannot_put_the_index_node_into_the_evidence(
    servers: tuple[_Server, _Server], tmp_path: Path
) -> None:
    site, node = servers  # the second server stands at the index node's address
    settings = load_settings(var_dir=tmp_path / "var", es={"port": node.httpd.server_address[1]})
    source = _source(site, "browser", evidence={"subresources": 20})
    run_crawl(source, settings, output=tmp_path / "out.jsonl", timeout_s=60)

    (listing,) = [item for _, item in read_jsonl(tmp_path / "out.jsonl", Listing.model_validate_json)]
    assert node.hits == ["/secret.jpg"]  # the tab asked for it, as the page said...
    archived = _archived(Path(listing.evidence.warc_file))
    assert any(uri.endswith("/own.jpg") for uri in archived)  # the page's own sub-resources are kept
    assert not [uri for uri in archived if node.url in uri]  # ...but not a byte of the answer was archived


def test_a_browser_page_that_redirects_to_the_index_node_is_not_archived(
    servers: tuple[_Server, _Server], tmp_path: Path
) -> None:
    site, node = servers
    node.pages["/_search"] = ("text/html", b"<html><body><h1>index contents</h1></body></html>")
    site.pages["/"] = ("text/html", b'<html><body><a href="/item/2">M30</a></body></html>')
    settings = load_settings(var_dir=tmp_path / "var", es={"port": node.httpd.server_address[1]})
    source = _source(site, "browser")
    site.redirects = {"/item/2": f"{node.url}/_search"}
    report = run_crawl(source, settings, output=tmp_path / "out.jsonl", timeout_s=60)

    assert not list(read_jsonl(tmp_path / "out.jsonl", Listing.model_validate_json))  # no listing of the node's page
    assert report.skipped.get("offsite") == 1
    archived = [uri for warc in (tmp_path / "var").rglob("*.warc*") for uri in _archived(warc)]
    assert any(uri.endswith("/robots.txt") for uri in archived)  # the crawl did archive what it kept
    assert not [uri for uri in archived if node.url in uri or uri.endswith("/item/2")]


def test_a_public_page_cannot_reach_the_local_network_through_the_browser(
    servers: tuple[_Server, _Server], tmp_path: Path
) -> None:
    """Chromium's Local Network Access checks stop a public page's loads of private and loopback addresses;
    the crawl's own browser flags must keep them on. The site is declared public to Chromium, as a real
    platform is; the second server stands for an admin page or metadata service on the crawler's network."""
    site, internal = servers
    item = (
        f'<html><body><h1>M30 blues x100</h1><p>ships today</p><img src="/own.jpg"><img src="{internal.url}/a.jpg">'
        f'<iframe src="{internal.url}/admin"></iframe><script>fetch("{internal.url}/xhr")</script></body></html>'
    )
    site.pages["/item/1"] = ("text/html", item.encode())
    public = f"--ip-address-space-overrides=127.0.0.1:{site.httpd.server_address[1]}=public"
    settings = load_settings(var_dir=tmp_path / "var", crawl={"browser_args": [*BROWSER_ARGS, public]})
    source = _source(site, "browser", evidence={"subresources": 20}, browser={"detail_wait_for": "h1"})
    run_crawl(source, settings, output=tmp_path / "out.jsonl", timeout_s=60)

    (listing,) = [item for _, item in read_jsonl(tmp_path / "out.jsonl", Listing.model_validate_json)]
    archived = _archived(Path(listing.evidence.warc_file))
    assert any(uri.endswith("/own.jpg") for uri in archived)  # the page itself loaded and was archived
    assert internal.hits == []  # no image, frame or script request reached the local service
    assert listing.evidence.screenshot_record_id  # the screenshot was taken, with the frame left blank
