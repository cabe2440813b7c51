"""Who is asking and what they may do: sessions or API tokens, roles, CSRF, login throttling, headers.

* Pages and API accept the signed session cookie (Starlette's SessionMiddleware, itsdangerous)
  or `Authorization: Bearer TOKEN`. Pages send strangers to the login page; the API answers 401.
* Roles rank analyst < liaison < admin: a liaison can do what an analyst can plus takedown work,
  an admin everything. Every route declares the least role it needs through `page_role`/`api_role`.
* Forms carry a per-session CSRF token (compared in constant time); cookie-authenticated API
  writes send it as `X-CSRF-Token`. Bearer requests carry no ambient credential, so need none.
* Failed logins are throttled per client address and per user name with `limits`' moving window.
* A valid API token's user is remembered for `TOKEN_CACHE_S` seconds (per process), so scripts
  calling the API in a loop cost one store lookup per token every few seconds, not one per call;
  a changed role or disabled account therefore takes effect on API tokens within that time.
"""

import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.store import User, session_scope
from core.store.users import user_for_token

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


class SecurityHeaders:
    """Adds the security headers (and `Cache-Control: no-store` outside /static/) to every HTTP response.

    A plain ASGI middleware rather than `BaseHTTPMiddleware`, which runs every request in an extra
    task with in-memory streams for the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")  # pages hold listing data and tokens
            await send(message)

        await self.app(scope, receive, send_with_headers)


TOKEN_CACHE_S = 10.0
TOKEN_CACHE_MAX = 1_000


class TokenCache:
    """API token (by SHA-256) -> its user's Principal, for `TOKEN_CACHE_S` seconds; only valid tokens are kept."""

    def __init__(self, ttl: float = TOKEN_CACHE_S, max_entries: int = TOKEN_CACHE_MAX) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(self.key(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, user: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[self.key(token)] = (time.monotonic() + self.ttl, user)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _bearer(request: Request) -> str | None:
    """The Bearer token of the request; "" for an Authorization header of another kind; None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_cache(request: Request) -> TokenCache | None:
    return getattr(request.app.state, "token_cache", None)


def _lookup(request: Request) -> Principal | None:
    settings = request.app.state.settings
    token = _bearer(request)
    if token is not None:
        if not token:
            return None
        cache = _token_cache(request)
        if cache is not None and (cached := cache.get(token)) is not None:
            return cached
        with session_scope(settings) as db:
            user = user_for_token(db, token)
            found = Principal(user.id, user.name, user.role, "token") if user else None
        if found is not None and cache is not None:
            cache.put(token, found)
        return found
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


async def _principal_async(request: Request) -> Principal | None:
    """`principal`, answered on the event loop for a cached API token, else looked up in the thread pool."""
    if not hasattr(request.state, "principal"):
        token = _bearer(request)
        cache = _token_cache(request)
        cached = cache.get(token) if token and cache is not None else None
        if cached is not None:
            request.state.principal = cached
        else:
            return await run_in_threadpool(principal, request)
    return request.state.principal


def api_role(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency for API routes: 401 without valid credentials, 403 for too small a role."""

    async def dependency(request: Request) -> Principal:
        user = await _principal_async(request)
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
