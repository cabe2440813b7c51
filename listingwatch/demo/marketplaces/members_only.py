"""What the demo's members-only sites share: the demo account, one-use CSRF tokens, the sign-in page and check,
session cookies, a login count, the page shell."""

import secrets
import threading
from html import escape
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from listingwatch.demo.marketplaces.generator import GeneratedListing

# The one account both sites accept (a test site's password: a space and an & so its encoded spellings are checked).
USERNAME = "analyst@example.org"
PASSWORD = "c0rrect horse&battery staple"  # noqa: S105


def html_page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body>{body}</body></html>"
    )


def error_note(error: str) -> str:
    return f'<p class="error">{escape(error)}</p>' if error else ""


def not_found() -> tuple[int, str, dict[str, str]]:
    return 404, html_page("Not found", "<h1>Not found</h1>"), {}


def numbered(listings: list[GeneratedListing], path: str, prefix: str) -> GeneratedListing | None:
    """The listing a topic path ``<prefix><n>`` names (counted from 1), or None."""
    last = path.rsplit("/", 1)[-1]
    if path.startswith(prefix) and last.isdigit() and 1 <= int(last) <= len(listings):
        return listings[int(last) - 1]
    return None


def topic_index(listings: list[GeneratedListing], page: int, per_page: int, topic: str, next_link: str) -> str:
    """One page of topic links (``<topic><n>``), then `next_link` with the next page's number if more follow."""
    start = (page - 1) * per_page
    rows = "".join(
        f'<li><a class="topic" href="{topic}{n}">{escape(item.title)}</a></li>'
        for n, item in enumerate(listings[start : start + per_page], start=start + 1)
    )
    more = next_link.format(page=page + 1) if start + per_page < len(listings) else ""
    return f'<ul class="topics">{rows}</ul>{more}'


def topic_page(nav: str, item: GeneratedListing, classes: tuple[str, str, str]) -> str:
    """A listing as a forum topic; each site names the title, poster and message elements its own way."""
    title, poster, message = classes
    return html_page(
        item.title,
        f'{nav}<article><h1 class="{title}">{escape(item.title)}</h1>'
        f'<span class="{poster}">{escape(item.seller)}</span><div class="{message}">{escape(item.description)}'
        "</div></article>",
    )


def read_form(body: bytes) -> dict[str, str]:
    """A login POST's fields, the first value of each (a broken body reads as replacement characters)."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


class LoginWall:
    """Tokens and sessions of a site behind a login form; `sessions` maps a session to the pages it was charged.

    The site lives under `path` (``/board``) and shows `listings`; its session cookie is named `cookie`.
    A session is good for `session_pages` charged pages (a test may lower it), then every page meets the wall.
    """

    def __init__(self, path: str, cookie: str, listings: list[GeneratedListing], session_pages: int) -> None:
        self.path = path
        self.cookie = cookie
        self.listings = listings
        self.session_pages = session_pages
        self.sessions: dict[str, int] = {}
        self.csrf: set[str] = set()
        self.logins = 0
        self._lock = threading.Lock()

    def issue_token(self) -> str:
        token = secrets.token_hex(8)
        with self._lock:
            self.csrf.add(token)
        return token

    def redeem_token(self, token: str | None) -> bool:
        """Whether `token` was issued and is unused; either way it cannot be used again."""
        with self._lock:
            issued = token in self.csrf
            self.csrf.discard(token or "")
        return issued

    def login_page(self, title: str, intro: str, error: str, token_field: str, inputs: str) -> str:
        """The sign-in page: `intro`, the error if any, and a form posting `inputs` to ``<path>/login`` with a
        fresh one-use token in `token_field` (each site names its fields its own way, as real forums do)."""
        return html_page(
            title,
            f'{intro}{error_note(error)}<form method="post" action="{self.path}/login">'
            f'<input type="hidden" name="{token_field}" value="{self.issue_token()}">{inputs}</form>',
        )

    def accepts(self, form: dict[str, str], token_field: str, user_field: str, password_field: str) -> bool:
        """Whether a login POST carries a live token (used up either way) and the demo account's credentials."""
        token_ok = self.redeem_token(form.get(token_field))
        return token_ok and form.get(user_field) == USERNAME and form.get(password_field) == PASSWORD

    def open_session(self) -> str:
        """A new session (counted as a login), for the Set-Cookie of a successful login."""
        session = secrets.token_hex(16)
        with self._lock:
            self.sessions[session] = 0
            self.logins += 1
        return session

    def signed_in(self, location: str) -> tuple[int, str, dict[str, str]]:
        """The answer to a successful login: a new session's cookie (for this site's path only), then `location`."""
        session = self.open_session()
        return 302, "", {"Location": location, "Set-Cookie": f"{self.cookie}={session}; Path={self.path}; HttpOnly"}

    def session_of(self, cookie_header: str | None) -> str | None:
        """The request's session if its cookie names a live one."""
        cookie = SimpleCookie()
        cookie.load(cookie_header or "")
        morsel = cookie.get(self.cookie)
        return morsel.value if morsel is not None and morsel.value in self.sessions else None

    def admit(self, cookie_header: str | None, charge: bool = True) -> str | None:
        """The request's session while it has pages left, else None; with `charge` this page is counted."""
        session = self.session_of(cookie_header)
        with self._lock:
            if session is None or self.sessions[session] >= self.session_pages:
                return None
            if charge:
                self.sessions[session] += 1
        return session

    def charge(self, session: str) -> None:
        with self._lock:
            self.sessions[session] += 1

    def listings_page(
        self,
        path: str,
        query: dict[str, str],
        nav: str,
        index: tuple[str, int, str],
        topic: tuple[str, tuple[str, str, str]],
        charge: str | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        """(status, html, headers) for a signed-in page: the index ``<path>/`` (paged by ``?page=``) or a topic.

        `index` is the index's (title, topics per page, label of the next page's link); `topic` the
        topics' path prefix and their (title, poster, message) classes. A topic page charges the
        session `charge` when given (a site that charges every page has done so already).
        """
        prefix, classes = topic
        if path == f"{self.path}/":
            title, per_page, next_label = index
            page = max(1, int(query["page"])) if query.get("page", "").isdigit() else 1
            more = f'<a class="next" href="{self.path}/?page={{page}}">{next_label}</a>'
            return 200, html_page(title, nav + topic_index(self.listings, page, per_page, prefix, more)), {}
        item = numbered(self.listings, path, prefix)
        if item is None:
            return not_found()
        if charge is not None:
            self.charge(charge)
        return 200, topic_page(nav, item, classes), {}
