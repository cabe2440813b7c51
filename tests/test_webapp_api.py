"""The web app over HTTP against the real node: API, auth, roles, CSRF, evidence, sellers, XSS."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from index_config.client import get_client
from tests.plugins.web import PASSWORD, WebEnv, csrf_of
from tests.web_data import MENU_LINES, XSS
from webapp.app import create_app

pytestmark = pytest.mark.integration


def api(env: WebEnv, role: str = "analyst") -> httpx.Client:
    return httpx.Client(base_url=env.url, headers={"Authorization": f"Bearer {env.tokens[role]}"}, timeout=30)


@contextmanager
def browser_session(env: WebEnv, role: str = "analyst") -> Iterator[httpx.Client]:
    """A cookie session logged in through the login form, as a browser would."""
    with httpx.Client(base_url=env.url, timeout=30) as client:
        token = csrf_of(client.get("/login").text)
        reply = client.post("/login", data={"username": role, "password": PASSWORD, "csrf": token, "next": "/"})
        assert reply.status_code == 303, reply.text
        yield client


def test_api_needs_credentials(web_server: WebEnv) -> None:
    with httpx.Client(base_url=web_server.url) as anon:
        assert anon.get("/api/search").status_code == 401
        assert anon.get("/api/search", headers={"Authorization": "Bearer lw_not-a-token"}).status_code == 401
        assert anon.get("/api/listings/x", headers={"Authorization": "Basic abc"}).status_code == 401
        page = anon.get("/search?q=blues")
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")


def test_search_shape_facets_and_highlights(web_server: WebEnv) -> None:
    with api(web_server) as c:
        body = c.get("/api/search", params={"q": "blues", "sort": "score"}).json()
    assert set(body) == {"total", "hits", "facets", "next", "warnings"}
    assert body["warnings"] == []
    assert body["total"] >= 2
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert {"site", "platform", "substance", "language", "triage", "takedown", "has", "score"} <= set(body["facets"])
    assert any("<mark>" in f.lower() for h in body["hits"] for f in h["highlight"].get("title", []))


def test_default_order_puts_synthetic_offers_first(web_server: WebEnv) -> None:
    with api(web_server) as c:
        hits = c.get("/api/search", params={"size": 50}).json()["hits"]
        scope_facet = c.get("/api/search", params={"scope": "other_drug"}).json()
    scopes = [h["scope"] for h in hits]
    assert "other_drug" in scopes and scopes.count("synthetic") > 1
    first_other = scopes.index("other_drug")
    assert all(s == "synthetic" for s in scopes[:first_other])
    synthetic = [h["score"] for h in hits[:first_other]]
    assert synthetic == sorted(synthetic, reverse=True)
    # the other-drug offer outscores some synthetic ones, so a plain score sort would interleave them
    assert hits[first_other]["score"] > min(synthetic)
    assert [h["scope"] for h in scope_facet["hits"]] == ["other_drug"]
    assert {b["key"] for b in scope_facet["facets"]["scope"]} == {"other_drug"}


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"q": "telegram:blueplug"}, lambda hits: len(hits) == 4),
        ({"q": "blues -hundred"}, lambda hits: all("hundred" not in (h["title"] or "").lower() for h in hits)),
        ({"q": "score:>0.9"}, lambda hits: hits and all(h["score"] > 0.9 for h in hits)),
        ({"q": "crypto:bc1qsharedaddress000"}, lambda hits: len(hits) == 2),
        ({"q": '"stealth packaging"'}, lambda hits: len(hits) == 2),
        ({"q": "meth"}, lambda hits: any("methamphetamine" in h["substances"] for h in hits)),
        ({"substance": "methamphetamine"}, lambda hits: len(hits) == 1),
        (
            {"site": ["alpha.example", "bravo.example"]},
            lambda hits: {h["site"] for h in hits} <= {"alpha.example", "bravo.example"},
        ),
        ({"has_crypto": "true"}, lambda hits: len(hits) == 3),
        ({"flagged": "false"}, lambda hits: len(hits) == 1),
        ({"language": "es"}, lambda hits: len(hits) == 1),
        ({"score_min": 0.9, "score_max": 0.95}, lambda hits: all(0.9 <= h["score"] <= 0.95 for h in hits)),
        ({"first_seen_from": "2026-11-21"}, lambda hits: len(hits) == 0),
        (
            {"sort": "price"},
            lambda hits: (
                [h["price"] for h in hits if h["price"] is not None]
                == sorted(h["price"] for h in hits if h["price"] is not None)
            ),
        ),
    ],
)
def test_query_syntax_and_filters(web_server: WebEnv, params: dict, check) -> None:
    with api(web_server) as c:
        reply = c.get("/api/search", params={**params, "size": 50})
    assert reply.status_code == 200, reply.text
    assert check(reply.json()["hits"]), reply.json()["hits"]


def test_bad_query_is_a_400_with_a_sentence(web_server: WebEnv) -> None:
    with api(web_server) as c:
        reply = c.get("/api/search", params={"q": "score:>high"})
    assert reply.status_code == 400 and "score:>0.9" in reply.json()["detail"]


def test_cursor_pages_through_everything_once(web_server: WebEnv) -> None:
    seen: list[str] = []
    with api(web_server) as c:
        params: dict = {"size": 3, "sort": "newest"}
        first = c.get("/api/search", params=params).json()
        page = first
        while True:
            seen += [h["id"] for h in page["hits"]]
            if not page["next"]:
                break
            page = c.get("/api/search", params={**params, "cursor": page["next"]}).json()
        assert c.get("/api/search", params={"cursor": "not-a-cursor"}).status_code == 400
    assert len(seen) == len(set(seen)) == first["total"]


def test_listing_api_has_evidence_history_and_relations(web_server: WebEnv) -> None:
    with api(web_server) as c:
        view = c.get(f"/api/listings/{web_server.ids['evidence']}").json()
        assert c.get("/api/listings/nope").status_code == 404
    assert [o["changed"] for o in view["observations"]] == [True, None]
    assert view["evidence"]["warc_verified"] and view["evidence"]["screenshot_verified"]
    shared = {s for r in view["related"] for s in r["shared"]}
    assert shared == {"telegram: @blueplug"} and len(view["related"]) == 3  # @BluePlug, blueplug, @blueplug
    assert view["seller_cluster"]["size"] >= 4


def test_warc_record_and_screenshot_download(web_server: WebEnv) -> None:
    import io

    from warcio.archiveiterator import ArchiveIterator

    lid = web_server.ids["evidence"]
    with browser_session(web_server) as c:
        warc = c.get(f"/listings/{lid}/warc")
        shot = c.get(f"/listings/{lid}/screenshot")
        assert c.get(f"/listings/{web_server.ids['meth']}/warc").status_code == 404
    assert warc.status_code == 200 and warc.headers["content-type"] == "application/warc"
    records = list(ArchiveIterator(io.BytesIO(warc.content)))
    assert [r.rec_type for r in records] == ["response"]
    assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG")


def test_photos_are_served_from_the_warc_as_images_only(web_server: WebEnv) -> None:
    lid, hostile = web_server.ids["evidence"], web_server.ids["hostile"]
    with httpx.Client(base_url=web_server.url) as anon:
        assert anon.get(f"/listings/{lid}/photos/0").status_code == 303  # behind login, like the rest
    with browser_session(web_server) as c:
        menu = c.get(f"/listings/{lid}/photos/0")
        svg = c.get(f"/listings/{lid}/photos/1")
        swapped = c.get(f"/listings/{lid}/photos/2")
        missing = [c.get(f"/listings/{lid}/photos/3"), c.get(f"/listings/{hostile}/photos/0")]
        page = c.get(f"/listings/{lid}").text
        hostile_page = c.get(f"/listings/{hostile}").text
    assert menu.status_code == 200 and menu.content.startswith(b"\x89PNG")
    assert menu.headers["content-type"] == "image/png" and menu.headers["x-content-type-options"] == "nosniff"
    assert menu.headers["content-disposition"] == 'inline; filename="photo-0.png"'
    csp = menu.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "img-src 'self'" in csp
    # Script in a "photo" labelled image/png is refused, not served under any type; an altered record is refused.
    assert svg.status_code == 415 and b"alert(1" not in svg.content and b"<svg" not in svg.content
    assert swapped.status_code == 409 and [m.status_code for m in missing] == [404, 404]
    # Thumbnails beside their OCR text, for the photos whose record is here; the hostile listing's has none.
    thumbs = re.findall(r'<img class="photo-thumb" src="([^"]+)"', page)
    assert thumbs == [f"/listings/{lid}/photos/{n}" for n in range(3)]
    assert all(line in page for line in MENU_LINES)
    assert 'class="photo-thumb"' not in hostile_page


def test_sellers_cluster_by_handle_crypto_and_text(web_server: WebEnv) -> None:
    with api(web_server) as c:
        clusters = c.get("/api/sellers", params={"size": 100}).json()["clusters"]
        by_handle = c.get("/api/sellers", params={"q": "@blueplug"}).json()["clusters"]
    sizes = sorted(cl["size"] for cl in clusters)
    assert 4 in sizes  # listings 0-2 and the hostile one share the handle in three spellings
    kinds = {i["kind"] for cl in clusters for i in cl["identifiers"]}
    assert {"telegram", "crypto", "phone"} <= kinds
    assert any(cl["size"] == 2 and not cl["identifiers"] for cl in clusters), "near-identical text was not linked"
    assert len(by_handle) == 1 and by_handle[0]["size"] == 4


def test_triage_is_recorded_mirrored_and_searchable(web_server: WebEnv) -> None:
    lid = web_server.ids["meth"]
    with api(web_server) as c:
        assert c.post(f"/api/listings/{lid}/triage", json={"decision": "bogus"}).status_code == 422
        assert c.post(f"/api/listings/{lid}/triage", json={"decision": "needs_review"}).status_code == 200
        assert c.post(f"/api/listings/{lid}/triage", json={"decision": "confirmed", "note": "photo"}).status_code == 200
        hits = c.get("/api/search", params={"triage": "confirmed"}).json()["hits"]
        untriaged = c.get("/api/search", params={"triage": "untriaged", "size": 50}).json()["hits"]
        view = c.get(f"/api/listings/{lid}").json()
    assert lid in [h["id"] for h in hits] and hits[0]["triage"]["by"] == "analyst"
    assert lid not in [h["id"] for h in untriaged]
    assert [d["decision"] for d in view["triage_history"]] == ["confirmed", "needs_review"]
    doc = get_client(web_server.settings).get(index=f"{web_server.settings.es.index_prefix}-listings", id=lid)
    assert doc["_source"]["triage"]["status"] == "confirmed"


def test_cookie_api_writes_need_the_csrf_header(web_server: WebEnv) -> None:
    lid = web_server.ids["negative"]
    with browser_session(web_server) as c:
        assert c.post(f"/api/listings/{lid}/triage", json={"decision": "false_positive"}).status_code == 403
        token = csrf_of(c.get("/").text)
        ok = c.post(f"/api/listings/{lid}/triage", json={"decision": "false_positive"}, headers={"X-CSRF-Token": token})
        assert ok.status_code == 200
        assert c.post(f"/listings/{lid}/triage", data={"decision": "confirmed"}).status_code == 403


def test_login_form_needs_csrf_and_is_rate_limited(web_env: WebEnv) -> None:
    with TestClient(create_app(web_env.settings), follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        assert c.post("/login", data={"username": "analyst", "password": PASSWORD}).status_code == 403
        codes = [
            c.post("/login", data={"username": "analyst", "password": "wrong", "csrf": token}).status_code
            for _ in range(web_env.settings.web.login_attempts_per_minute + 1)
        ]
        assert codes[:-1] == [401] * web_env.settings.web.login_attempts_per_minute and codes[-1] == 429
        right = c.post("/login", data={"username": "analyst", "password": PASSWORD, "csrf": token})
        assert right.status_code == 429  # the right password does not bypass the throttle
        assert c.get("/login?next=//evil.example").text.count('value="/"') == 1  # no open redirect


def test_security_headers(web_server: WebEnv) -> None:
    with browser_session(web_server) as c:
        reply = c.get("/search")
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert reply.headers["x-content-type-options"] == "nosniff"
    cookie = httpx.Client(base_url=web_server.url).get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


# Every route with the least role it needs; `test_every_route_is_in_the_role_table` keeps this complete.
ROUTES = {
    ("GET", "/"): "analyst",
    ("GET", "/search"): "analyst",
    ("GET", "/listings/{listing_id}"): "analyst",
    ("GET", "/listings/{listing_id}/screenshot"): "analyst",
    ("GET", "/listings/{listing_id}/warc"): "analyst",
    ("GET", "/listings/{listing_id}/photos/{index}"): "analyst",
    ("POST", "/listings/{listing_id}/triage"): "analyst",
    ("GET", "/sellers"): "analyst",
    ("GET", "/sellers/{cluster_id}"): "analyst",
    ("GET", "/overview"): "analyst",
    ("POST", "/saved"): "analyst",
    ("POST", "/saved/{search_id}/delete"): "analyst",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{name}"): "admin",
    ("GET", "/admin/sources"): "admin",
    ("GET", "/docs"): "analyst",
    ("GET", "/api/openapi.json"): "analyst",
    ("GET", "/api/search"): "analyst",
    ("GET", "/api/listings/{listing_id}"): "analyst",
    ("POST", "/api/listings/{listing_id}/triage"): "analyst",
    ("GET", "/api/sellers"): "analyst",
    ("GET", "/api/sellers/{cluster_id}"): "analyst",
    ("GET", "/liaison"): "liaison",
    ("POST", "/liaison/export"): "liaison",
    ("GET", "/liaison/packets/{packet_id}.zip"): "liaison",
    ("POST", "/liaison/packets/{packet_id}/sent"): "liaison",
    ("POST", "/liaison/answers"): "liaison",
    ("POST", "/liaison/appeals"): "liaison",
    ("GET", "/api/takedown/report"): "liaison",
    ("GET", "/alerts"): "analyst",
    ("POST", "/alerts"): "analyst",
    ("POST", "/alerts/{sub_id}/test"): "analyst",
    ("POST", "/alerts/{sub_id}/delete"): "analyst",
}
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}


def test_every_route_is_in_the_role_table(web_env: WebEnv) -> None:
    app = create_app(web_env.settings)
    routes = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert routes == set(ROUTES) | PUBLIC


def _fill(path: str, env: WebEnv) -> str:
    return path.format(
        listing_id=env.ids["evidence"],
        cluster_id="0" * 16,
        search_id=999_999,
        packet_id="none",
        name="nobody",
        sub_id=999_999,
        index=0,
    )


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_role_is_checked_on_route(web_server: WebEnv, method: str, path: str) -> None:
    needed = ROUTES[(method, path)]
    url = _fill(path, web_server)
    with httpx.Client(base_url=web_server.url) as anon:
        reply = anon.request(method, url)
        if path.startswith("/api"):
            assert reply.status_code == 401
        else:
            assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    for role, rank in (("analyst", 1), ("liaison", 2), ("admin", 3)):
        allowed = rank >= {"analyst": 1, "liaison": 2, "admin": 3}[needed]
        with api(web_server, role) as c:
            status = c.request(method, url).status_code
        assert (status not in (401, 403)) == allowed, (role, status)


class _Inert(HTMLParser):
    """Collects anything in a page that could run script or load attacker-chosen content."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k.lower() for k, _ in attrs}
        if tag == "script" and "src" not in names and dict(attrs).get("type") != "application/json":
            self.problems.append("inline <script>")  # a JSON data block is never executed
        if tag in ("svg", "img") and any(n.startswith("on") for n in names):
            self.problems.append(f"<{tag}> with an event handler")
        if any(n.startswith("on") for n in names):
            self.problems.append(f"event handler on <{tag}>")
        for k, v in attrs:
            if k in ("href", "src", "action") and v and v.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {k}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.problems.append("injected <img>")
        if tag == "b" or tag == "i":
            self.problems.append(f"injected <{tag}>")


def test_hostile_listing_renders_inert_on_every_page(web_server: WebEnv) -> None:
    hostile = web_server.ids["hostile"]
    with browser_session(web_server) as c:
        cluster = c.get("/api/sellers", params={"q": hostile}).json()["clusters"][0]["id"]
        pages = [
            "/",
            "/search?" + urlencode({"q": "M30"}),
            "/search?" + urlencode({"q": "alert"}),
            "/search",
            f"/listings/{hostile}",
            "/sellers",
            f"/sellers/{cluster}",
            "/overview",
            "/alerts",
        ]
        for page in pages:
            reply = c.get(page)
            assert reply.status_code == 200, page
            html = reply.text
            assert XSS not in html and "<script>alert" not in html, page
            parser = _Inert()
            parser.feed(html)
            assert parser.problems == [], (page, parser.problems)
        listing = c.get(f"/listings/{hostile}").text
        assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in listing  # shown as text, not dropped
        assert 'href="javascript:alert(9)"' not in listing and "javascript:alert(9)" in listing


def test_saved_search_counts_new_matches_on_the_home_page(web_server: WebEnv) -> None:
    with browser_session(web_server, "admin") as c:
        home = c.get("/").text
        assert "all blues" in home and re.search(r"\d+ new", home)
        token = csrf_of(home)
        assert (
            c.post("/saved", data={"name": "meth", "query": "q=meth&bogus=1&site=x", "csrf": token}).status_code == 303
        )
        assert 'href="/search?q=meth&amp;site=x"' in c.get("/").text  # stored as the search understood it


def test_cli_triage_confirm_and_export(web_env: WebEnv, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from core.settings import get_settings
    from listingwatch.cli import app

    settings = web_env.settings
    monkeypatch.setenv("LISTINGWATCH_ES__PORT", str(settings.es.port))
    monkeypatch.setenv("LISTINGWATCH_ES__INDEX_PREFIX", settings.es.index_prefix)
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        confirm = runner.invoke(app, ["triage", "confirm", web_env.ids["evidence"], "--by", "liaison", "--note", "cli"])
        assert confirm.exit_code == 0, confirm.output
        out = tmp_path / "labels.jsonl"
        export = runner.invoke(app, ["triage", "export", str(out)])
        assert export.exit_code == 0, export.output
    finally:
        get_settings.cache_clear()
    rows = {r["listing_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    row = rows[web_env.ids["evidence"]]
    assert row["sale"] == 1 and row["by"] == "liaison" and row["title"].startswith("M30 blues")
    assert row["substances"] == ["counterfeit_pill", "fentanyl"]
