"""Crawling through a proxy (Tor's SOCKS port, privoxy, an HTTP proxy) with nothing going around it.

Scrapy's own HTTP handler has no SOCKS support (scrapy#747), so a source with a ``socks5h://``
proxy is fetched by the httpx download handler that ships with Scrapy 2.19 (httpx speaks
SOCKS5 through `socksio` and sends host names to the proxy, so ``.onion`` names are resolved
by Tor, never locally). Chromium takes the proxy at launch (``socks5://``: Chromium always
resolves through a SOCKS5 proxy). Every request, robots.txt and photos included, gets the
proxy from `ProxyMiddleware`; browser sources route their non-browser requests to httpx too
(both in `crawlers.proxy_handlers`, loaded by Scrapy only for sources with a proxy).
"""

from typing import Any
from urllib.parse import urlsplit

from crawlers.sources import SourceConfig

HTTPX_HANDLER = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
BROWSER_HANDLER = "crawlers.proxy_handlers.PlaywrightProxyHandler"


def is_socks(proxy: str) -> bool:
    return urlsplit(proxy).scheme.startswith("socks")


def chromium_proxy(proxy: str) -> dict[str, str]:
    """Playwright's launch `proxy` option; Chromium knows socks5:// (remote DNS) but not socks5h://."""
    parts = urlsplit(proxy)
    scheme = "socks5" if parts.scheme.startswith("socks") else parts.scheme
    out = {"server": f"{scheme}://{parts.hostname}:{parts.port}"}
    if parts.username:
        out["username"] = parts.username
        out["password"] = parts.password or ""
    return out


def proxy_settings(source: SourceConfig, current: dict[str, Any]) -> dict[str, Any]:
    """Scrapy settings that send all of a source's traffic through its proxy (empty when it has none)."""
    if not source.proxy:
        return {}
    middlewares = {**current["DOWNLOADER_MIDDLEWARES"], "crawlers.proxy_handlers.ProxyMiddleware": 740}
    out: dict[str, Any] = {"DOWNLOADER_MIDDLEWARES": middlewares, "LISTINGWATCH_PROXY": source.proxy}
    if source.uses_browser:
        out["DOWNLOAD_HANDLERS"] = {"http": BROWSER_HANDLER, "https": BROWSER_HANDLER}
        launch = current["PLAYWRIGHT_LAUNCH_OPTIONS"]
        out["PLAYWRIGHT_LAUNCH_OPTIONS"] = {**launch, "proxy": chromium_proxy(source.proxy)}
    elif is_socks(source.proxy):
        out["DOWNLOAD_HANDLERS"] = {"http": HTTPX_HANDLER, "https": HTTPX_HANDLER}
    return out


def _offline_public_suffixes() -> None:
    """Scrapy's cookie middleware asks tldextract for the public suffix list, which it downloads on first use:
    a request to the internet outside the crawl's proxy (and its allowed domains). Use the copy tldextract ships.
    """
    from scrapy.downloadermiddlewares import cookies
    from tldextract import TLDExtract

    cookies._split_domain = TLDExtract(include_psl_private_domains=True, suffix_list_urls=())


_offline_public_suffixes()
