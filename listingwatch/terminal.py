"""Showing text from outside (crawled pages, source files, error messages) in a terminal, inert.

Rich reads ``[...]`` as markup: a listing title ``M30 [/] blues`` crashed the end of the demo,
an invalid regex holding ``[/x]`` crashed `sources check`, and ``[link=...]`` in a title became
a hidden clickable link. Raw control characters (an ESC sequence in a title) can rewrite the
terminal itself. So every external string reaches the console through `plain` (a `Text`,
never parsed as markup) or `escape` (when it is interpolated into a line that has markup of
our own), both of which also show control characters as ``\\xNN`` instead of sending them.
"""

import re

from rich.markup import escape as _escape_markup
from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: object) -> str:
    """The text with control characters (except newline and tab) written out as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def escape(value: object) -> str:
    """For interpolating into a Rich markup string: markup-escaped and control characters made visible."""
    return _escape_markup(visible(value))


def plain(value: object, style: str = "") -> Text:
    """A table cell or line that Rich never parses as markup."""
    return Text(visible(value), style=style)
