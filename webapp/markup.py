"""Turning attacker-written text into safe HTML with highlights.

Text is escaped first and only then wrapped in <mark> elements built by this module, so a
listing can never inject markup of its own; templates never apply `|safe` to listing text.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from index_config.search import HL_END, HL_START


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    css: str
    label: str


def mark_spans(text: str, spans: list[Span]) -> Markup:
    """`text` escaped, with each span wrapped in <mark>; overlapping spans keep the first (longest) one."""
    parts: list[Markup] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        start, end = max(span.start, 0), min(span.end, len(text))
        if start < pos or start >= end:
            continue
        parts.append(escape(text[pos:start]))
        parts.append(Markup('<mark class="{}" title="{}">{}</mark>').format(span.css, span.label, text[start:end]))
        pos = end
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


_SENTINELS = re.compile(f"([{HL_START}{HL_END}])")


def highlight_fragment(fragment: str) -> Markup:
    """An Elasticsearch highlight (sentinel-marked, unescaped) as escaped HTML with balanced <mark> tags."""
    escaped = str(escape(fragment))
    if HL_START not in escaped and HL_END not in escaped:
        return Markup(escaped)  # noqa: S704 - escape() output
    out: list[str] = []
    open_ = False
    for part in _SENTINELS.split(escaped):
        if part == HL_START:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == HL_END:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(part)
    if open_:
        out.append("</mark>")
    return Markup("".join(out))  # noqa: S704 - built from escape() output plus our own tags only


def http_url(value: object) -> str | None:
    """The value if it is an http(s) URL (safe for href), else None: `javascript:` and friends stay text."""
    if not isinstance(value, str):
        return None
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return None
    return value.strip() if scheme in ("http", "https") else None


def utc(value: object) -> str:
    """A timestamp shown in UTC to the second (evidence times are always UTC)."""
    if not value:
        return ""
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")
