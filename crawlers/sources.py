"""Source configs: one YAML file per site, so pointing the crawler at a new site means writing YAML, not code.

A config is validated up front (selectors compiled, regexes compiled, cron parsed) so a typo
fails at `listingwatch sources check` time with the file and every bad field named, not
halfway through a scheduled crawl. Link patterns are matched with RE2 (linear time), so a
pattern such as ``(a+)+$`` cannot pin a core on a hostile URL; one RE2 cannot run
(backreferences, lookaround) is refused with a message saying so. Values may use ``${VAR}`` /
``${VAR:-default}`` so the shipped demo sources can be pointed at another host without editing them.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import phonenumbers
import re2
import yaml
from cssselect import GenericTranslator, SelectorError
from lxml import etree
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import ConfigError
from core.jsonl import validation_problems
from core.schema import SourceKind

MAX_SOURCE_BYTES = 256 * 1024
MAX_ALIASES = 20  # anchors for a repeated selector are fine; nested ones multiply ("billion laughs")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_PROXY_SCHEMES = {"socks5h", "socks5", "http", "https"}
_SITE = re.compile(r"[a-z0-9][a-z0-9._:\-]{0,199}")
_CRON_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once"}


def _check_selector(value: str) -> str:
    """Compile a selector: plain text is CSS (with Parsel's ::text/::attr), ``xpath:`` prefixes XPath."""
    if value.startswith("xpath:"):
        try:
            etree.XPath(value.removeprefix("xpath:"))
        except etree.XPathSyntaxError as err:
            raise ValueError(f"invalid XPath {value!r} ({err})") from None
        return value
    css = re.sub(r"::(text|attr\([^)]*\))$", "", value.strip())
    try:
        GenericTranslator().css_to_xpath(css)
    except SelectorError as err:
        raise ValueError(f"invalid CSS selector {value!r} ({err})") from None
    return value


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_link_pattern(value: str) -> "re2._Regexp":
    """A link pattern compiled for RE2: matching time is linear in the URL, whatever the pattern."""
    return re2.compile(value, _RE2_OPTIONS)


def _has_port(url: str) -> bool:
    try:
        return urlsplit(url).port is not None
    except ValueError:
        return False


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"invalid regular expression {value!r} ({err})") from None
    try:
        compile_link_pattern(value)
    except re2.error as err:
        detail = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ValueError(
            f"regular expression {value!r} uses a feature RE2 cannot run in linear time ({detail}); "
            "rewrite it without backreferences or lookaround"
        ) from None
    return value


MIN_ADAPTIVE = timedelta(minutes=5)
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _parse_duration(value: str) -> timedelta:
    """`30m`, `1h`, `2d` (a schedule bound); anything else is a plain error."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 30m, 1h or 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    """The YAML's own way of writing a duration: 1d, 6h, 90m."""
    minutes = int(value.total_seconds() // 60)
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _check_cron(value: str) -> str:
    value = value.strip()
    if value in _CRON_MACROS:
        return value
    parts = value.split()
    if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
        raise ValueError(f"{value!r} is not a 5-field cron expression or @hourly/@daily/...")
    return value


SelectorStr = Annotated[str, AfterValidator(_check_selector)]
RegexStr = Annotated[str, AfterValidator(_check_regex)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkRule(_Strict):
    """Which links to follow: Scrapy LinkExtractor arguments (regions to look in and URL patterns)."""

    restrict_css: list[SelectorStr] = Field(default_factory=list)
    restrict_xpaths: list[str] = Field(default_factory=list)
    allow: list[RegexStr] = Field(default_factory=list)
    deny: list[RegexStr] = Field(default_factory=list)


class Links(_Strict):
    listings: LinkRule | None = Field(default=None, description="Required unless `feed:` or `api:` is set.")
    next_pages: LinkRule | None = Field(
        default=None,
        description="Links to more index pages (pagination). Unset: only start_urls are index pages, so a page "
        "of 100,000 links is never followed as 100,000 index pages.",
    )
    keep_fragments: bool = Field(
        default=False,
        description="Every #fragment is part of a page's identity (items at /item.html#<id>). Hash routes "
        "(#/… and #!…) are kept on every source.",
    )


class Feed(_Strict):
    """Pages that hold many listings (a channel's web preview): every item on them becomes a listing.

    `fields:` selectors then apply inside each item; `links.next_pages` pages through the feed
    (for a Telegram preview, backwards via ``?before=``).
    """

    item: SelectorStr = Field(description="Each post, e.g. div.tgme_widget_message[data-post].")
    link: SelectorStr = Field(
        description="Inside a post: its own link, which becomes the listing's URL and stable ID, "
        "e.g. a.tgme_widget_message_date::attr(href)."
    )
    title_from_text: bool = Field(default=True, description="Posts have no title: use the start of the text.")


def _check_jmespath(value: str) -> str:
    try:
        jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as err:
        raise ValueError(f"invalid JMESPath {value!r} ({' '.join(str(err).split())})") from None
    return value


JmesPathStr = Annotated[str, AfterValidator(_check_jmespath)]


class ApiFields(_Strict):
    """JMESPath expressions read on each item's JSON (the item URL's reply, else the list entry)."""

    title: JmesPathStr | None = None
    description: JmesPathStr | None = None
    price: JmesPathStr | None = Field(default=None, description="A number (or numeric text).")
    currency: JmesPathStr | None = Field(default=None, description="An ISO 4217 code such as USD or EUR.")
    seller: JmesPathStr | None = None
    seller_url: JmesPathStr | None = None
    posted_at: JmesPathStr | None = Field(default=None, description="ISO 8601 text or Unix seconds.")
    images: JmesPathStr | None = Field(default=None, description="A URL or a list of URLs.")


class Api(_Strict):
    """Read listings from the site's JSON API instead of its HTML (the replies are the WARC evidence)."""

    list_url: str = Field(
        description="The list endpoint with {page} (counted from first_page) or {cursor} (empty on the first request)."
    )
    first_page: int = Field(default=1, ge=0)
    items: JmesPathStr = Field(description="Where a list reply holds its items, e.g. products or data.items.")
    id: JmesPathStr = Field(default="id", description="An item's ID inside a list entry; fills {id} in the URLs.")
    next_cursor: JmesPathStr | None = Field(
        default=None, description="With {cursor}: the next cursor in a list reply; none or empty ends the list."
    )
    has_more: JmesPathStr | None = Field(
        default=None, description="A list reply's 'more pages' flag; false ends the list. An empty page always does."
    )
    item_url: str | None = Field(
        default=None, description="One item's endpoint with {id}; unset: the fields are read from the list entry."
    )
    listing_url: str = Field(
        description="The page a person opens for the item, with {id} (e.g. …/item.html#{id}): the listing's URL, "
        "its ID and the packet's location. Its fragment is kept."
    )
    fields: ApiFields = Field(default_factory=ApiFields)
    price_minor_units: bool = Field(
        default=False, description="Prices are in the currency's minor unit (cents): 4500 USD is 45.00."
    )

    @model_validator(mode="after")
    def _placeholders(self) -> "Api":
        page, cursor = "{page}" in self.list_url, "{cursor}" in self.list_url
        if page == cursor:
            raise ValueError("api.list_url needs exactly one of {page} or {cursor}")
        if cursor and self.next_cursor is None:
            raise ValueError("api.list_url pages by {cursor}: set api.next_cursor (where a reply names the next one)")
        for key, url in (("list_url", self.list_url), ("item_url", self.item_url), ("listing_url", self.listing_url)):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"api.{key} {url!r} is not an absolute http(s) URL")
        for key, url in (("item_url", self.item_url), ("listing_url", self.listing_url)):
            if url is not None and "{id}" not in url:
                raise ValueError(f"api.{key} {url!r} needs {{id}} where the item's ID goes")
        return self


class FieldSelectors(_Strict):
    """Selectors for listing fields; a missing one falls back to schema.org JSON-LD, then main text."""

    title: SelectorStr | None = None
    description: SelectorStr | None = None
    price: SelectorStr | None = None
    seller: SelectorStr | None = None
    seller_url: SelectorStr | None = None
    posted_at: SelectorStr | None = None
    images: SelectorStr | None = None


class BrowserActions(_Strict):
    """What the browser does before the page is read (only for render: browser)."""

    wait_for: SelectorStr | None = Field(default=None, description="Listing-index pages: wait for this element.")
    detail_wait_for: SelectorStr | None = Field(default=None, description="Listing pages: wait for this element.")
    item_selector: SelectorStr | None = Field(
        default=None, description="Elements counted while scrolling; scrolling stops when no new ones appear."
    )
    scroll_times: int = Field(default=0, ge=0, le=200, description="Most scroll rounds on an index page.")
    scroll_wait_ms: int = Field(
        default=1500,
        ge=0,
        le=30_000,
        description="Longest wait for new items after a scroll; a round also ends once no fetch/XHR "
        "has been in flight for 300 ms.",
    )
    click_selector: SelectorStr | None = Field(default=None, description='A "load more" button to click.')
    click_times: int = Field(default=0, ge=0, le=200)
    screenshot: bool = True


class Politeness(_Strict):
    obey_robots_txt: bool = True
    concurrency_per_domain: int = Field(default=4, ge=1, le=64)
    download_delay: float = Field(default=0.0, ge=0)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(default=4.0, gt=0)
    user_agent: str | None = None


class Limits(_Strict):
    max_pages: int | None = Field(default=None, ge=1)
    max_depth: int = Field(default=20, ge=0)
    max_page_bytes: int | None = Field(default=None, ge=1024, description="Unset = settings.crawl.max_page_bytes.")
    timeout_s: float | None = Field(default=None, gt=0, description="Per request; unset = settings.")
    retries: int = Field(default=2, ge=0, le=10)
    crawl_timeout_s: float | None = Field(default=None, gt=0, description="Whole crawl wall-clock bound.")


class EvidenceOptions(_Strict):
    """What a browser page archives besides its main document, and what of it a takedown packet may carry."""

    subresources: int = Field(
        default=20,
        ge=0,
        le=500,
        description="Most sub-resources (scripts, XHR, images) recorded per browser page, as network responses.",
    )
    subresource_max_bytes: int = Field(default=2_000_000, ge=1024, description="Larger sub-resources are skipped.")
    share: Literal["full", "redacted", "none"] = Field(
        default="redacted",
        description="What takedown packets carry of a login-gated source's captures: full (as captured), redacted "
        "(a logged-out capture when the page is public, else the account name redacted; no screenshots) or none. "
        "none also withholds a public source's captures.",
    )


class Photos(_Strict):
    """Listing photos fetched, archived and hashed (SHA-256 + perceptual hash), same politeness and domains."""

    enabled: bool = True
    max_per_listing: int = Field(default=4, ge=0, le=50)
    max_bytes: int = Field(default=3_000_000, ge=1024, description="A larger photo is cancelled mid-download.")
    ocr: bool = Field(default=True, description="Read the text in each photo (Tesseract, English and Spanish).")


def _region(value: str | None) -> str | None:
    if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not an ISO 3166 two-letter country code (e.g. US, MX, ES, CO)")
    return value.upper() if value else None


class ContactOptions(_Strict):
    """How the contacts in this source's text are read."""

    country: Annotated[str | None, AfterValidator(_region)] = Field(
        default=None,
        description="Two-letter country code: the default region for phone numbers written without +country code "
        '("55 1234 5678" on a Mexican board). Unset: the site\'s country-code domain, else US.',
    )
    bare_handles: Literal["telegram", "snapchat", "signal", "wickr", "venmo"] | None = Field(
        default=None,
        description="The platform a bare @name belongs to. Unset: telegram for a channel feed (kind: channel with a "
        "feed: block), else none (a bare @name is then taken only when it is a Telegram @…_bot).",
    )


class Login(_Strict):
    """How to log in; the credentials themselves live in the environment or a secrets file, never here."""

    url: str = Field(description="The page with the login form.")
    username_field: SelectorStr = Field(description="The username (or e-mail) input, e.g. input[name=user].")
    password_field: SelectorStr = Field(description="The password input.")
    submit: SelectorStr | None = Field(default=None, description="The button to press (default: the form's first).")
    credentials: str = Field(
        pattern=r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^#]+#.+)$",
        description="env:PREFIX (PREFIX_USERNAME, PREFIX_PASSWORD) or file:PATH#KEY (YAML: KEY: {username, password}).",
    )
    logged_in: SelectorStr = Field(description="An element only a logged-in page has, e.g. a.logout.")
    max_relogins: int = Field(default=5, ge=0, le=100, description="Re-logins allowed when a login wall reappears.")

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return url


class SourceConfig(_Strict):
    """One site to crawl; `platform` is who receives the takedown request."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    platform: str = Field(min_length=1)
    kind: SourceKind | None = Field(
        default=None,
        description="What kind of place this is (market, classifieds, forum, channel, shop, news, reference): the "
        "classifier reads it as context, so a product page on a market reads as an offer and a news page does not.",
    )
    enabled: bool = True
    site: str | None = Field(
        default=None,
        description="The listings' site value (the site: search and facet, seller names per site). Unset: the "
        "host of each listing's URL. Name one site apart from others on the same host, or its mirrors as one.",
    )
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(min_length=1)
    render: Literal["http", "browser"] = "http"
    schedule: str = "@daily"
    schedule_min: timedelta | None = Field(
        default=None,
        description="With schedule_max: crawl adaptively, as often as this while it keeps yielding new flagged "
        "listings (e.g. 1h, 30m); docs/engineers.md.",
    )
    schedule_max: timedelta | None = Field(
        default=None, description="...and as rarely as this while it yields none (e.g. 1d, 12h)."
    )
    links: Links = Field(default_factory=Links)
    fields: FieldSelectors = Field(default_factory=FieldSelectors)
    browser: BrowserActions = Field(default_factory=BrowserActions)
    politeness: Politeness = Field(default_factory=Politeness)
    limits: Limits = Field(default_factory=Limits)
    evidence: EvidenceOptions = Field(default_factory=EvidenceOptions)
    photos: Photos = Field(default_factory=Photos)
    contacts: ContactOptions = Field(default_factory=ContactOptions)
    feed: Feed | None = None
    api: Api | None = None
    login: Login | None = None
    proxy: str | None = Field(
        default=None,
        description="socks5h://host:port (Tor: socks5h://127.0.0.1:9050) or http://host:port; "
        "every request of this source goes through it. Required for .onion start URLs.",
    )
    private_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Private, loopback or link-local networks (CIDR, e.g. 127.0.0.1/32) that re-checks and removal "
        "checks of this source may reach; every other such address is refused, redirects included. Only for sites "
        "served on your own machine or network (the demo sites).",
    )

    @property
    def schedule_summary(self) -> str:
        """The cron, or the adaptive bounds that replace it (what listings of sources show)."""
        if self.schedule_min is None:
            return self.schedule
        return f"adaptive {format_duration(self.schedule_min)}..{format_duration(self.schedule_max)}"  # type: ignore[arg-type]

    @property
    def uses_browser(self) -> bool:
        """Pages are rendered in Chromium (Playwright), which needs the browser pool and its own handlers."""
        return self.render == "browser"

    @field_validator("site")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        """Lower case, as `site:` searches are read, and one word a facet link or a search can carry."""
        if value is None:
            return None
        site = value.strip().lower()
        if not _SITE.fullmatch(site):
            raise ValueError(
                f"{value!r} must be one word of letters, digits, '.', '-', '_' or ':' (no spaces or '/'), "
                "e.g. market.example or market-mirrors"
            )
        return site

    @field_validator("start_urls")
    @classmethod
    def _absolute(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return urls

    @field_validator("allowed_domains")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for entry in hosts:
            host, _, port = entry.partition(":")
            if "/" in entry or not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
                raise ValueError(
                    f"{entry!r} must be a host name, optionally with a port: write 'market.example' or "
                    "'127.0.0.1:8791' (no scheme or path)"
                )
        return hosts

    @property
    def allowed_hosts(self) -> list[str]:
        """`allowed_domains` without ports: what Scrapy's offsite check takes."""
        return list(dict.fromkeys(entry.split(":", 1)[0] for entry in self.allowed_domains))

    def allowed_ports(self, host: str) -> set[int]:
        """Ports a request to `host` may use: the entry's own port, else those the start URLs use.

        A host named without a port allows the ports its start URLs give (or 80 and 443 when
        they give none), so a redirect to another service on the same machine is not followed.
        """
        ports: set[int] = set()
        bare = False
        for entry in self.allowed_domains:
            name, _, port = entry.partition(":")
            if host == name or host.endswith("." + name):
                if port:
                    ports.add(int(port))
                else:
                    bare = True
        if bare:
            given = [urlsplit(url).port for url in self.start_urls if urlsplit(url).hostname == host]
            ports |= {p for p in given if p is not None}
            if not given or None in given:
                ports |= {80, 443}
        return ports

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in _PROXY_SCHEMES or not parts.hostname or not _has_port(value):
            raise ValueError(
                f"{value!r} must be scheme://host:port with scheme socks5h, socks5, http or https "
                "(for Tor: socks5h://127.0.0.1:9050)"
            )
        return value

    @model_validator(mode="after")
    def _listings_or_feed(self) -> "SourceConfig":
        if self.links.listings is None and self.feed is None and self.api is None:
            raise ValueError(
                "links.listings is required (which links lead to listing pages) unless feed: or api: is set"
            )
        if self.api is not None and (self.feed is not None or self.uses_browser):
            raise ValueError("api: reads JSON over HTTP: remove feed: and render: browser from this source")
        return self

    @property
    def follows_pages(self) -> bool:
        """Whether more than the start pages' first screen is read: pagination, an API's paging, scroll or clicks."""
        act = self.browser
        loads_more = self.uses_browser and bool(act.scroll_times or (act.click_selector and act.click_times))
        return self.links.next_pages is not None or self.api is not None or loads_more

    @model_validator(mode="after")
    def _onion_needs_proxy(self) -> "SourceConfig":
        onions = [u for u in self.start_urls if (urlsplit(u).hostname or "").endswith(".onion")]
        if onions and not self.proxy:
            raise ValueError(f"start URL {onions[0]} is an onion site: set proxy: socks5h://127.0.0.1:9050 (Tor)")
        if onions and self.proxy and urlsplit(self.proxy).scheme == "socks5":
            raise ValueError("onion sites need the proxy to resolve names: write socks5h:// instead of socks5://")
        return self

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _check_cron(value)

    @field_validator("schedule_min", "schedule_max", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        # ISO 8601 ("PT1H") is how the model serialises itself (the crawl subprocess reads it back).
        return _parse_duration(value) if isinstance(value, str) and not value.startswith("P") else value

    @model_validator(mode="after")
    def _schedule_bounds(self) -> "SourceConfig":
        low, high = self.schedule_min, self.schedule_max
        if (low is None) != (high is None):
            raise ValueError("set schedule_min and schedule_max together (e.g. 1h and 1d), or neither")
        if low is not None and high is not None:
            if low < MIN_ADAPTIVE:
                raise ValueError(f"schedule_min must be at least {MIN_ADAPTIVE} (got {low})")
            if low > high:
                raise ValueError(f"schedule_min ({low}) is longer than schedule_max ({high})")
        return self


def expand_env(text: str) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset variable with no default is a config error."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(f"Environment variable {name} is not set and has no ${{{name}:-default}}; set it.")

    return _ENV_REF.sub(sub, text)


def _read_yaml(path: Path) -> object:
    """Parse a source file, refusing what no source needs: binary text, huge files, alias bombs."""
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise ConfigError(f"Source {path} is over {MAX_SOURCE_BYTES // 1024} KiB; a source file is a page of YAML.")
    try:
        text = expand_env(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"Source {path} is not UTF-8 text (byte {err.start}); save it as UTF-8.") from None
    except ConfigError as err:
        raise ConfigError(f"Source {path}: {err}") from None
    aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
    if aliases > MAX_ALIASES:
        raise ConfigError(f"Source {path} uses {aliases} YAML aliases (at most {MAX_ALIASES}); write the values out.")
    return yaml.safe_load(text)


def load_source(path: Path) -> SourceConfig:
    """Read and validate one source file, raising `ConfigError` that names the file and every bad field."""
    path = Path(path)
    try:
        raw = _read_yaml(path)
    except OSError as err:
        raise ConfigError(f"Source {path} cannot be read ({err.strerror}); check the path.") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"Source {path} is not valid YAML ({' '.join(str(err).split())}); fix the syntax.") from None
    if not isinstance(raw, dict):
        found = "is empty" if raw is None else f"holds a YAML {type(raw).__name__}"
        raise ConfigError(
            f"Source {path} {found}, but must be a mapping of fields (name, platform, start_urls, ...); "
            "see docs/crawlers.md for the format."
        )
    problems = []
    try:
        config = SourceConfig.model_validate(raw)
    except ValidationError as err:
        problems += validation_problems(err)
    if raw.get("name") != path.stem:
        problems.append(f"name: is {raw.get('name')!r} but must match the file name {path.stem!r}")
    if problems:
        listed = "; ".join(f"field {p}" for p in problems)
        raise ConfigError(f"Source {path}: {listed}; fix the YAML and run `listingwatch sources check {path}`.")
    return config


def source_files(location: Path) -> list[Path]:
    """The source files at `location`: the file itself, or every ``*.yaml``/``*.yml`` in a folder."""
    location = Path(location)
    if location.is_dir():
        return sorted(p for p in location.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})
    if location.is_file():
        return [location]
    raise ConfigError(f"{location} is neither a source file nor a folder of them; check the path.")


def load_sources(location: Path) -> dict[str, SourceConfig | ConfigError]:
    """Every source file at `location` (a file or a folder) keyed by file stem; one bad file never hides the others."""
    results: dict[str, SourceConfig | ConfigError] = {}
    for path in source_files(location):
        try:
            results[path.stem] = load_source(path)
        except ConfigError as err:
            results[path.stem] = err
    return results


_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def source_by_name(directory: Path, name: str) -> SourceConfig:
    """A source by name from `directory` only: never a path, so a name read from data cannot load another file."""
    if not _SOURCE_NAME.match(name):
        raise ConfigError(
            f"{name[:100]!r} is not a source name (lowercase letters, digits, '-' and '_'); "
            f"sources are looked up by name in {directory}."
        )
    for suffix in (".yaml", ".yml"):
        path = Path(directory) / f"{name}{suffix}"
        if path.is_file():
            return load_source(path)
    known = ", ".join(sorted(p.stem for p in Path(directory).glob("*.y*ml"))) or "none"
    raise ConfigError(f"No source named {name!r} in {directory} (known: {known}); check the name.")


def find_source(directory: Path, name: str) -> SourceConfig:
    """For people at a terminal: a source by name, or a path to its YAML file."""
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"} and candidate.exists():
        return load_source(candidate)
    return source_by_name(directory, name)
