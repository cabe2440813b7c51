"""The analyst's day in a real browser: Playwright driving Debian's chromium against the running app.

Each main page is saved as a screenshot under var/test-artifacts/web/ for people to look at.
A listing full of script and HTML injection must not open a dialog or add an element anywhere.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.settings import BROWSER_ARGS
from tests.plugins.web import PASSWORD, WebEnv

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, web_server: WebEnv) -> Iterator[Page]:
    """A fresh browser context; any JavaScript dialog, page error or CSP violation fails the test."""
    context = browser.new_context(base_url=web_server.url, viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    tab.problems = problems  # type: ignore[attr-defined]
    yield tab
    context.close()
    assert problems == []


def login(page: Page, role: str = "analyst") -> None:
    page.goto("/")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header nav")).to_be_visible()


def test_analyst_journey(page: Page, web_server: WebEnv, artifacts_dir: Path) -> None:
    login(page)
    page.fill("form.searchbox input[name=q]", "blues")
    page.press("form.searchbox input[name=q]", "Enter")
    expect(page.locator("li.hit").first).to_be_visible()
    expect(page.locator("li.hit mark").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "search.png", full_page=True)
    before = int(page.locator("#total").inner_text())

    page.locator('section.facet[data-facet="site"] a.facet-link', has_text="bravo.example").click()
    assert "site=bravo.example" in page.url
    after = int(page.locator("#total").inner_text())
    assert 0 < after < before
    assert all("bravo.example" in m for m in page.locator("li.hit .meta").all_inner_texts())

    page.goto(f"/listings/{web_server.ids['evidence']}")
    expect(page.locator("h1.title mark.lex")).to_have_text("M30")
    expect(page.locator(".description mark.tok")).to_have_text("blues")
    shot = page.locator("img.screenshot")
    expect(shot).to_be_visible()
    assert page.evaluate("document.querySelector('img.screenshot').naturalWidth") > 0
    expect(page.locator("#warc-download")).to_be_visible()
    expect(page.locator(".evidence .ok").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "listing.png", full_page=True)

    page.keyboard.press("c")  # one key press confirms
    expect(page.locator("#triage-status")).to_have_text("confirmed")
    expect(page.locator(".triage-box table")).to_contain_text("analyst")

    page.goto("/search?q=blues")
    hit = page.locator(f'li.hit[data-id="{web_server.ids["evidence"]}"]')
    expect(hit.locator(".badge.triage")).to_have_text("confirmed")

    page.goto(f"/listings/{web_server.ids['evidence']}")
    page.click("#seller-link")
    expect(page.locator("svg circle.listing")).to_have_count(4)
    expect(page.locator("svg rect.ident").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "seller.png", full_page=True)

    page.goto("/sellers")
    expect(page.locator("a.cluster-link").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "sellers.png", full_page=True)

    page.goto("/")
    expect(page.locator("#waiting")).to_contain_text("flagged listings")
    expect(page.locator("section.card table").first).to_contain_text("confirmed")
    page.screenshot(path=artifacts_dir / "home.png", full_page=True)

    page.goto("/overview")
    page.wait_for_function("document.querySelector('#chart-platform').width > 0")
    page.wait_for_function("document.querySelector('#chart-lags').width > 0")  # lags.js drew the lag chart
    assert page.evaluate("typeof Chart") == "function"
    page.screenshot(path=artifacts_dir / "overview.png", full_page=True)


def test_quick_triage_from_search_results(page: Page, web_server: WebEnv) -> None:
    login(page)
    page.goto("/search?q=harm")
    hit = page.locator(f'li.hit[data-id="{web_server.ids["negative"]}"]')
    hit.locator("button[value=false_positive]").click()
    expect(page.locator(f'li.hit[data-id="{web_server.ids["negative"]}"] .badge.triage')).to_have_text("false positive")
    assert "q=harm" in page.url


def test_hostile_listing_is_inert_in_the_browser(page: Page, web_server: WebEnv, artifacts_dir: Path) -> None:
    login(page)
    hostile = web_server.ids["hostile"]
    for url in ("/search?q=M30", "/search?q=alert", f"/listings/{hostile}", "/sellers", "/overview", "/"):
        page.goto(url)
        page.wait_for_load_state("load")
        injected = page.evaluate(
            'document.querySelectorAll(\'img[src="x"], svg[onload], [onerror], a[href^="javascript"], b\').length'
        )
        assert injected == 0, url
    page.goto(f"/listings/{hostile}")
    expect(page.locator("h1.title")).to_contain_text('<script>alert("xss")</script>')
    page.screenshot(path=artifacts_dir / "hostile-listing.png", full_page=True)
    page.click("#seller-link")
    page.wait_for_load_state("load")
    page.screenshot(path=artifacts_dir / "hostile-seller.png", full_page=True)
    assert page.evaluate("document.querySelectorAll('svg[onload], [onerror]').length") == 0
