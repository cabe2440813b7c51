"""The packet's human-readable report, and its PDF printed by the Chromium the crawler already drives.

Listing text is written by the sellers being reported: Jinja2 autoescapes every value, the
template never marks text safe, and a Content-Security-Policy without inline script (the one
style block is allowed by its hash) keeps the page inert if anything slips through.
"""

import base64
import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.errors import ServiceUnavailable

STYLE = (
    "body{font-family:DejaVu Sans,Noto Sans,sans-serif;font-size:11px;margin:24px;color:#111}"
    "h1{font-size:20px}h2{font-size:14px;margin:0 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}th{text-align:left;vertical-align:top;padding:2px 8px 2px 0;"
    "white-space:nowrap;color:#444}td{padding:2px 0;word-break:break-all}"
    "code{font-family:DejaVu Sans Mono,monospace;font-size:10px}"
    "section.listing{border-top:2px solid #333;padding-top:10px;margin-top:16px;page-break-inside:avoid}"
    "mark{background:#ffe066}.relist{background:#fdd;border:1px solid #c00;padding:4px;font-weight:bold}"
    ".text{white-space:pre-wrap;border:1px solid #ccc;padding:6px;margin:6px 0}"
    "img{max-width:100%;max-height:600px;border:1px solid #999}.noshot{color:#666}"
    "section.notice{border:2px solid #333;padding:8px;margin:12px 0}h3{font-size:12px;margin:8px 0 2px}"
)
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_report(context: dict[str, Any]) -> str:
    style_hash = "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"
    return _ENV.get_template("report.html.j2").render(style=STYLE, style_hash=style_hash, **context)


def print_pdf(html_path: Path, chromium: Path, args: list[str]) -> bytes:
    """Print the report as it sits in its folder (so screenshots load) to A4 PDF."""
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=args)
            try:
                page = browser.new_page(java_script_enabled=False)
                page.goto(html_path.resolve().as_uri(), wait_until="load")
                return page.pdf(format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm"})
            finally:
                browser.close()
    except Error as err:
        raise ServiceUnavailable(
            f"Chromium could not print the report ({str(err).splitlines()[0]}); check crawl.chromium_path ({chromium})."
        ) from None
