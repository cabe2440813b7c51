"""A members-only board under ``/board/`` whose session lasts a few requests, as many real forums do.

- ``GET /board/login`` shows a form with a CSRF token; ``POST /board/login`` with the right user
  and password sets a session cookie and redirects to ``/board/``.
- A session is good for `SESSION_REQUESTS` pages (index or topic, any page asked for with it);
  after that, and without one, every page redirects to the plain ``/board/login`` (no ``next``),
  so every page that meets the wall redirects to the same URL.
- `COUNT` listings over two index pages (``/board/?page=2``), topics at ``/board/t/<n>``.
- `ExpiringBoard.logins` counts successful logins; `session_requests` may be lowered by a test
  (1: the page the login redirects to uses up every session, so the wall never lifts).
"""

import secrets
import threading
from html import escape
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from listingwatch.demo.marketplaces.generator import GeneratedListing
from listingwatch.demo.marketplaces.members import PASSWORD, USERNAME, html_page

SESSION_REQUESTS = 5
PER_PAGE = 6
COUNT = 12


class ExpiringBoard:
    """State of the board; the sites server routes ``/board/`` here."""

    def __init__(self, listings: list[GeneratedListing]) -> None:
        self.listings = listings[:COUNT]
        self.session_requests = SESSION_REQUESTS
        self.sessions: dict[str, int] = {}
        self.csrf: set[str] = set()
        self.logins = 0
        self._lock = threading.Lock()

    def login_form(self, error: str = "") -> str:
        token = secrets.token_hex(8)
        with self._lock:
            self.csrf.add(token)
        note = f'<p class="error">{escape(error)}</p>' if error else ""
        return html_page(
            "Sign in - Board",
            f"<h1>Sign in</h1><p>Members only.</p>{note}"
            f'<form method="post" action="/board/login"><input type="hidden" name="token" value="{token}">'
            '<input type="text" name="username"><input type="password" name="password">'
            '<button type="submit">Sign in</button></form>',
        )

    def submit(self, body: bytes) -> tuple[int, str, dict[str, str]]:
        """(status, html, headers) for a login POST."""
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self._lock:
            token_ok = form.get("token") in self.csrf
            self.csrf.discard(form.get("token", ""))
        if not token_ok or form.get("username") != USERNAME or form.get("password") != PASSWORD:
            return 200, self.login_form("Wrong user name or password."), {}
        session = secrets.token_hex(16)
        with self._lock:
            self.sessions[session] = 0
            self.logins += 1
        return 302, "", {"Location": "/board/", "Set-Cookie": f"board_sid={session}; Path=/board; HttpOnly"}

    def _spend(self, cookie_header: str | None) -> bool:
        """Whether the request's session is live; a live one is charged one page."""
        cookie = SimpleCookie()
        cookie.load(cookie_header or "")
        morsel = cookie.get("board_sid")
        with self._lock:
            if morsel is None or morsel.value not in self.sessions:
                return False
            if self.sessions[morsel.value] >= self.session_requests:
                del self.sessions[morsel.value]
                return False
            self.sessions[morsel.value] += 1
            return True

    def page(self, path: str, query: dict[str, str], cookie_header: str | None) -> tuple[int, str, dict[str, str]]:
        """(status, html, headers) for a GET under /board/."""
        if path == "/board/login":
            return 200, self.login_form(), {}
        if not self._spend(cookie_header):
            return 302, "", {"Location": "/board/login"}
        nav = '<nav><a class="signout" href="/board/logout">Sign out</a></nav>'
        if path == "/board/":
            page = int(query["page"]) if query.get("page", "").isdigit() else 1
            start = (page - 1) * PER_PAGE
            rows = "".join(
                f'<li><a class="topic" href="/board/t/{n}">{escape(item.title)}</a></li>'
                for n, item in enumerate(self.listings[start : start + PER_PAGE], start=start + 1)
            )
            more = f'<a class="next" href="/board/?page={page + 1}">Next</a>' if start + PER_PAGE < COUNT else ""
            return 200, html_page("Board", f'{nav}<ul class="topics">{rows}</ul>{more}'), {}
        last = path.rsplit("/", 1)[-1]
        if path.startswith("/board/t/") and last.isdigit() and 1 <= int(last) <= len(self.listings):
            item = self.listings[int(last) - 1]
            body = (
                f'{nav}<article><h1 class="subject">{escape(item.title)}</h1>'
                f'<span class="poster">{escape(item.seller)}</span><div class="message">{escape(item.description)}'
                "</div></article>"
            )
            return 200, html_page(item.title, body), {}
        return 404, html_page("Not found", "<h1>Not found</h1>"), {}
