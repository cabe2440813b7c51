"""Draft a source YAML from a site's pages: a starting point with suggested selectors, for a person to edit.

Index page: the most repeated same-site link shape (digits generalised, e.g.
``/ads/item/\\d+$``) is taken as the listing links, restricted to the nearest container
with an id or class; ``rel=next``, a pagination block or ``?page=`` links give the next
pages. Listing page (the first listing link, when one was found): class and id names that
say what they hold (``price``, ``seller``, ``desc``…), ``h1``, ``time[datetime]`` and
gallery images give field selectors; schema.org JSON-LD means fields can be left out.
Every guess is a suggestion; the YAML says so, and `sources check` validates it.

A channel's web preview (Telegram's ``t.me/s/<channel>`` markup) is recognised by its post
elements and drafted as a feed: the ``feed:``, pagination and field blocks are copied from the
shipped channel template (``crawlers/sources/channel.yaml``), so a draft and the template agree.
``platform:`` is who receives takedown requests, which no page says: it is left as a marked TODO.
"""

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml
from parsel import Selector

from crawlers.extract.fields import jsonld_product
from crawlers.sources import SourceConfig

_FIELD_HINTS = {
    "price": re.compile(r"price|cost|amount|precio", re.I),
    "seller": re.compile(r"seller|vendor|author|user|poster|shop-?name|by\b", re.I),
    "description": re.compile(r"desc|body|content|details|text|message", re.I),
    "posted_at": re.compile(r"date|posted|time|created", re.I),
}
CHANNEL_TEMPLATE = Path(__file__).with_name("sources") / "channel.yaml"
CHANNEL_POST = "div.tgme_widget_message[data-post]"
PLATFORM_TODO = "TODO: the company that runs {host} (it receives the takedown requests)"
_NEXT_TEXT = re.compile(r"^\s*(next|older|more|siguiente|›|»|>|→)", re.I)


def _css_name(node: Selector) -> str | None:
    """``tag#id`` or ``tag.class`` for an element, when it has an id or a usable class."""
    tag = node.root.tag if isinstance(node.root.tag, str) else ""
    if (ident := node.attrib.get("id")) and re.fullmatch(r"[A-Za-z][\w-]*", ident):
        return f"{tag}#{ident}"
    classes = [c for c in (node.attrib.get("class") or "").split() if re.fullmatch(r"-?[A-Za-z_][\w-]*", c)]
    return f"{tag}.{classes[0]}" if classes else None


def _shape(path: str) -> str:
    return re.sub(r"\d+", r"\\d+", re.escape(path).replace(r"\-", "-"))


def listing_links(html: str, url: str) -> tuple[str | None, str | None, list[str]]:
    """(allow regex, restrict_css container, example URLs) for the most repeated same-site link shape."""
    sel = Selector(text=html, base_url=url)
    host = urlsplit(url).netloc
    shapes: Counter[str] = Counter()
    examples: dict[str, list[tuple[str, Selector]]] = {}
    for anchor in sel.css("a[href]"):
        absolute = urljoin(url, anchor.attrib["href"])
        parts = urlsplit(absolute)
        if parts.netloc != host or not re.search(r"\d", parts.path) or parts.query:
            continue
        shape = _shape(parts.path) + "$"
        shapes[shape] += 1
        examples.setdefault(shape, []).append((absolute, anchor))
    if not shapes:
        return None, None, []
    shape, count = shapes.most_common(1)[0]
    if count < 2:
        return None, None, []
    container = None
    for ancestor in examples[shape][0][1].xpath("ancestor::*[@id or @class]")[::-1]:
        name = _css_name(ancestor)
        if name and len(ancestor.css("a[href]")) >= count and ancestor.root.tag not in {"body", "html"}:
            container = name
            break
    return shape, container, list(dict.fromkeys(u for u, _ in examples[shape]))


def next_pages(html: str) -> str | None:
    """A restrict_css for pagination, when the page shows one."""
    sel = Selector(text=html)
    if sel.css("a[rel=next]"):
        return "a[rel=next]"
    for block in sel.css("nav, div, ul, a"):
        name = _css_name(block)
        if name and re.search(r"pag|pager|more", name, re.I) and block.xpath("self::a[@href] | .//a[@href]"):
            return name
    for anchor in sel.css("a[href]"):
        if _NEXT_TEXT.match(" ".join(anchor.css("::text").getall())) and (name := _css_name(anchor)):
            return name
    return None


def _best(sel: Selector, pattern: re.Pattern[str], links: bool) -> str | None:
    """The named element whose class/id matches `pattern` and holds the most text."""
    scored: list[tuple[int, str]] = []
    for node in sel.xpath("//body//*[@class or @id]"):
        name = _css_name(node)
        skip = {"body"} if links else {"body", "a"}
        if name and pattern.search(name.split("#", 1)[-1].split(".", 1)[-1]) and node.root.tag not in skip:
            text = " ".join(node.css("::text").getall()).strip()
            if text and len(sel.css(name)) == 1:
                scored.append((len(text), name))
    return max(scored)[1] if scored else None


def listing_fields(html: str, url: str) -> dict[str, str] | None:
    """Suggested field selectors for one listing page (None when JSON-LD already carries the product)."""
    if jsonld_product(html, url):
        return None
    sel = Selector(text=html, base_url=url)
    fields: dict[str, str] = {}
    h1 = sel.css("h1")
    if h1:
        fields["title"] = _css_name(h1[0]) or "h1"
    for name, pattern in _FIELD_HINTS.items():
        if name == "posted_at" and sel.css("time[datetime]"):
            fields[name] = "time::attr(datetime)"
        elif found := _best(sel, pattern, links=name == "seller"):
            fields[name] = found
    if (seller := fields.get("seller")) and sel.css(seller).xpath("self::a[@href] | .//a[@href]"):
        link = "::attr(href)" if sel.css(seller)[0].root.tag == "a" else " a::attr(href)"
        fields["seller_url"] = seller + link
    for container in sel.xpath("//body//*[@class or @id][.//img]"):
        name = _css_name(container)
        if name and re.search(r"galler|photo|image|media|pics", name, re.I):
            fields["images"] = f"{name} img::attr(src)"
            break
    return fields


def is_channel_feed(html: str) -> bool:
    """A channel's web preview: posts marked up as Telegram's t.me/s pages mark them."""
    return bool(Selector(text=html).css(CHANNEL_POST))


def _channel_draft(name: str, url: str, host: str) -> dict[str, object]:
    template = yaml.safe_load(CHANNEL_TEMPLATE.read_text(encoding="utf-8"))
    return {
        "name": name,
        "platform": PLATFORM_TODO.format(host=host),
        "kind": "channel",
        "start_urls": [url],
        "allowed_domains": [host],
        "render": "http",
        "feed": template["feed"],
        "links": template["links"],
        "fields": template["fields"],
    }


def draft_source(name: str, url: str, index_html: str, listing_html: str | None, listing_url: str | None) -> str:
    """The YAML text of a draft source; it validates as a `SourceConfig` (raises ValueError if it could not)."""
    host = urlsplit(url).hostname or ""
    header = [
        f"# Draft written by `listingwatch sources new {name} --from {url}`: every selector is a guess.",
        "# Edit it, then run `listingwatch sources check` and `listingwatch crawl NAME --max-pages 20`.",
        "# Keys and selector syntax: docs/crawlers.md.",
        "# TODO platform: name the company that runs the site; it receives the takedown requests.",
    ]
    if is_channel_feed(index_html):
        draft = _channel_draft(name, url, host)
        SourceConfig.model_validate(draft)
        notes = [
            *header,
            "# The page is a channel's web preview (t.me/s markup): every post is a listing (feed:), paged",
            "# backwards; feed, links and fields are copied from crawlers/sources/channel.yaml. Photos on t.me come",
            "# from Telegram's CDN: add its host (e.g. telesco.pe) to allowed_domains.",
        ]
        return "\n".join(notes) + "\n" + yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=120)
    allow, container, _ = listing_links(index_html, url)
    scripts = len(Selector(text=index_html).css("script"))
    text = len(" ".join(Selector(text=index_html).css("body ::text").getall()).split())
    render = "browser" if scripts and text < 40 else "http"
    listings: dict[str, list[str]] = {}
    if allow:
        listings["allow"] = [allow]
    if container:
        listings["restrict_css"] = [container]
    draft: dict[str, object] = {
        "name": name,
        "platform": PLATFORM_TODO.format(host=host),
        "start_urls": [url],
        "allowed_domains": [host],
        "render": render,
        "links": {"listings": listings or {"allow": ["REPLACE: a regex for listing URLs"]}},
    }
    if nxt := next_pages(index_html):
        draft["links"]["next_pages"] = {"restrict_css": [nxt]}  # type: ignore[index]
    fields = listing_fields(listing_html, listing_url or url) if listing_html else {}
    if fields:
        draft["fields"] = fields
    SourceConfig.model_validate(draft)
    notes = list(header)
    if render == "browser":
        notes.append("# The page has scripts and little text: it probably needs render: browser (and browser: waits).")
    if fields is None:
        notes.append("# The listing page publishes schema.org JSON-LD: fields can stay unset.")
    elif listing_html and not fields:
        notes.append("# No field selectors could be guessed: add fields: (the main text is the fallback).")
    if listing_url:
        notes.append(f"# Fields were suggested from {listing_url}.")
    return "\n".join(notes) + "\n" + yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=120)
