"""Who is asking and what they may do: sessions or API tokens, roles, CSRF, login throttling, headers.

* Pages and API accept the signed session cookie (Starlette's SessionMiddleware, itsdangerous)
  or `Authorization: Bearer TOKEN`. Pages send strangers to the login page; the API answers 401.
* Roles rank analyst < liaison < admin: a liaison can do what an analyst can plus takedown work,
  an admin everything. Every route declares the least role it needs through `page_role`/`api_role`.
* Forms carry a per-session CSRF token (compared in constant time); cookie-authenticated API
  writes send it as `X-CSRF-Token`. Bearer requests carry no ambient credential, so need none.
* Failed logins are throttled per client address and per user name with `limits`' moving window.
"""

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from listingwatch.store import User, session_scope
from listingwatch.store.users import user_for_token

RANK = {"analyst": 1, "liaison": 2, "admin": 3}
Role = Literal["analyst", "liaison", "admin"]
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    role: str
    via: Literal["session", "token"]

    def may(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold listing data and tokens
        return response


def _lookup(request: Request) -> Principal | None:
    settings = request.app.state.settings
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with session_scope(settings) as db:
            user = user_for_token(db, token.strip())
            return Principal(user.id, user.name, user.role, "token") if user else None
    uid = request.session.get("uid")
    issued = request.session.get("at", 0)
    if not isinstance(uid, int) or time.time() - issued > settings.web.session_hours * 3600:
        return None
    with session_scope(settings) as db:
        user = db.get(User, uid)
        if user is None or user.disabled:
            return None
        return Principal(user.id, user.name, user.role, "session")


def principal(request: Request) -> Principal | None:
    """The authenticated user of this request (looked up once per request), or None."""
    if not hasattr(request.state, "principal"):
        request.state.principal = _lookup(request)
    return request.state.principal


def page_role(role: Role) -> Callable[[Request], Principal]:
    """Dependency for HTML routes: login redirect for strangers, 403 for too small a role."""

    def dependency(request: Request) -> Principal:
        user = principal(request)
        if user is None:
            raise LoginRequired
        if not user.may(role):
            raise HTTPException(status_code=403, detail=f"This page needs the {role} role.")
        return user

    return dependency


def api_role(role: Role) -> Callable[[Request], Principal]:
    """Dependency for API routes: 401 without valid credentials, 403 for too small a role."""

    def dependency(request: Request) -> Principal:
        user = principal(request)
        if user is None:
            raise HTTPException(
                status_code=401,
                detail="Authentication required: send the session cookie or `Authorization: Bearer TOKEN`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not user.may(role):
            raise HTTPException(status_code=403, detail=f"This endpoint needs the {role} role.")
        return user

    return dependency


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (also before login, for the login form)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, submitted: str | None, user: Principal | None = None) -> None:
    """Reject a cookie-authenticated (or anonymous) form post whose token is not this session's."""
    if user is not None and user.via == "token":
        return
    expected = request.session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not submitted or not secrets.compare_digest(expected, submitted):
        raise HTTPException(status_code=403, detail="The form expired or did not come from this site; reload the page.")


def check_api_csrf(request: Request, user: Principal) -> None:
    """Cookie-authenticated API writes must echo the CSRF token; token-authenticated ones need not."""
    if user.via == "session":
        check_csrf(request, request.headers.get(CSRF_HEADER))


class LoginThrottle:
    """At most `per_minute` failed logins per client address and per user name in any 60 s window."""

    def __init__(self, per_minute: int) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.item = RateLimitItemPerMinute(per_minute)

    def _keys(self, client: str, name: str) -> list[str]:
        return [f"ip:{client}", f"user:{name.lower()[:128]}"]

    def allowed(self, client: str, name: str) -> bool:
        return all(self.limiter.test(self.item, key) for key in self._keys(client, name))

    def failed(self, client: str, name: str) -> None:
        for key in self._keys(client, name):
            self.limiter.hit(self.item, key)
