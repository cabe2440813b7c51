"""A members-only board under ``/board/`` whose session lasts a few requests, as many real forums do.

- ``GET /board/login`` shows a form with a CSRF token; ``POST /board/login`` with the right user
  and password sets a session cookie and redirects to ``/board/``.
- A session is good for `SESSION_REQUESTS` pages (index or topic, any page asked for with it);
  after that, and without one, every page redirects to the plain ``/board/login`` (no ``next``),
  so every page that meets the wall redirects to the same URL.
- `COUNT` listings over two index pages (``/board/?page=2``), topics at ``/board/t/<n>``.
- `ExpiringBoard.logins` counts successful logins; `session_pages` may be lowered by a test
  (1: the page the login redirects to uses up every session, so the wall never lifts).
"""

from listingwatch.demo.marketplaces.generator import GeneratedListing
from listingwatch.demo.marketplaces.members_only import (
    LoginWall,
    read_form,
)

SESSION_REQUESTS = 5
PER_PAGE = 6
COUNT = 12


class ExpiringBoard(LoginWall):
    """State of the board; the sites server routes ``/board/`` here."""

    def __init__(self, listings: list[GeneratedListing]) -> None:
        super().__init__("/board", "board_sid", listings[:COUNT], SESSION_REQUESTS)

    def login_form(self, error: str = "") -> str:
        inputs = (
            '<input type="text" name="username"><input type="password" name="password">'
            '<button type="submit">Sign in</button>'
        )
        return self.login_page("Sign in - Board", "<h1>Sign in</h1><p>Members only.</p>", error, "token", inputs)

    def submit(self, body: bytes) -> tuple[int, str, dict[str, str]]:
        """(status, html, headers) for a login POST."""
        if not self.accepts(read_form(body), "token", "username", "password"):
            return 200, self.login_form("Wrong user name or password."), {}
        return self.signed_in("/board/")

    def page(self, path: str, query: dict[str, str], cookie_header: str | None) -> tuple[int, str, dict[str, str]]:
        """(status, html, headers) for a GET under /board/."""
        if path == "/board/login":
            return 200, self.login_form(), {}
        if self.admit(cookie_header) is None:
            return 302, "", {"Location": "/board/login"}
        nav = '<nav><a class="signout" href="/board/logout">Sign out</a></nav>'
        return self.listings_page(
            path, query, nav, ("Board", PER_PAGE, "Next"), ("/board/t/", ("subject", "poster", "message"))
        )
