"""Who is asking and what they may do: sessions or API tokens, roles, CSRF, login throttling, headers.

* Pages and API accept the signed session cookie (Starlette's SessionMiddleware, itsdangerous)
  or `Authorization: Bearer TOKEN`. Pages send strangers to the login page; the API answers 401.
* Roles rank analyst < liaison < admin: a liaison can do what an analyst can plus takedown work,
  an admin everything. Every route declares the least role it needs through `page_role`/`api_role`.
* Forms carry a per-session CSRF token (compared in constant time); cookie-authenticated API
  writes send it as `X-CSRF-Token`. Bearer requests carry no ambient credential, so need none.
* Logins are throttled per (user name, client address) with `limits`' moving window: an attempt
  is counted before the password is checked (so concurrent guesses cannot all slip through) and
  refunded when it succeeds; a minute and an hour window give a back-off instead of a lockout,
  and since the key holds the address, a stranger's guesses never lock the real user out.
  The client address is the TCP peer unless that peer is a configured `web.trusted_proxies`
  entry (then X-Forwarded-For, through uvicorn's proxy-headers middleware in `webapp.app`).
* Session cookies carry the user's `session_generation`; logging out everywhere, a new
  password, a role change or disabling the account bumps it, ending every copy of the cookie.
* A valid API token's user is remembered for `TOKEN_CACHE_S` seconds (per process), so scripts
  calling the API in a loop cost one store lookup per token every few seconds, not one per call.
  Credential changes stamp `var/credentials-changed` (`core.store.users.credentials_changed`);
  the cache drops everything when the stamp moves, so a revoked token stops at once wherever
  the web app shares that var/ directory, and within `TOKEN_CACHE_S` anywhere else.
"""

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import HTTPException, Request
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.store import User, session_scope
from core.store.users import auth_log, user_for_token

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
SESSION_COOKIE = "listingwatch_session"
SECURE_SESSION_COOKIE = "__Host-listingwatch_session"  # Secure, Path=/, no Domain: no subdomain can set it


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
    task with in-memory streams for the body. Over HTTPS (directly, or as the trusted proxy's
    X-Forwarded-Proto says) it adds Strict-Transport-Security.
    """

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_seconds}" if hsts_seconds else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        hsts = self.hsts if scope.get("scheme") == "https" else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")  # pages hold listing data and tokens
                if hsts:
                    headers.setdefault("Strict-Transport-Security", hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


TOKEN_CACHE_S = 10.0
TOKEN_CACHE_MAX = 1_000


class TokenCache:
    """API token (by SHA-256) -> its user's Principal, for `TOKEN_CACHE_S` seconds; only valid tokens are kept."""

    def __init__(
        self, ttl: float = TOKEN_CACHE_S, max_entries: int = TOKEN_CACHE_MAX, stamp: Path | None = None
    ) -> None:
        self.ttl, self.max_entries, self.stamp = ttl, max_entries, stamp
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._seen = self._stamp()

    def _stamp(self) -> int:
        try:
            return self.stamp.stat().st_mtime_ns if self.stamp is not None else 0
        except OSError:
            return 0

    def _check_stamp(self) -> None:
        """Drop everything when a credential changed (in any process sharing var/) since the last look."""
        now = self._stamp()
        if now != self._seen:
            with self._lock:
                self._seen = now
                self._entries.clear()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Principal | None:
        self._check_stamp()
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


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or what a trusted proxy forwarded (see `webapp.app`)."""
    return request.client.host if request.client else "?"


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
        if found is None:
            auth_log.info("auth user=? address=%s outcome=token_refused", client_address(request))
        elif cache is not None:
            cache.put(token, found)
        return found
    uid, generation = request.session.get("uid"), request.session.get("gen")
    issued = request.session.get("at", 0)
    if not isinstance(uid, int) or time.time() - issued > settings.web.session_hours * 3600:
        return None
    with session_scope(settings) as db:
        user = db.get(User, uid)
        if user is None or user.disabled or generation != user.session_generation:
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
    """Login attempts per (user name, client address) in a minute and an hour window (`limits`, moving window).

    `attempt` counts before the password is checked and says how long to wait when over a
    limit; `succeeded` refunds the (user, address) key. `storage` is a `limits` storage URI:
    ``memory://`` in one process, ``redis://...`` to share the count between app processes.
    """

    def __init__(self, per_minute: int, per_hour: int | None = None, storage: str = "memory://") -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))
        self.items = [RateLimitItemPerMinute(per_minute), RateLimitItemPerHour(per_hour or per_minute * 4)]

    @staticmethod
    def _key(client: str, name: str) -> str:
        return f"login:{name.lower()[:128]}:{client}"

    def attempt(self, client: str, name: str) -> float | None:
        """Count one attempt; None when it may go ahead, else the seconds until one may."""
        key = self._key(client, name)
        refused = [item for item in self.items if not self.limiter.hit(item, key)]
        if not refused:
            return None
        reset = max(self.limiter.get_window_stats(item, key).reset_time for item in refused)
        return max(1.0, math.ceil(reset - time.time()))

    def succeeded(self, client: str, name: str) -> None:
        for item in self.items:
            self.limiter.clear(item, self._key(client, name))
