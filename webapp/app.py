"""The FastAPI application: middleware, templates, static files and the two routers."""

import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from core.settings import Settings
from core.store import get_engine
from core.store.users import stamp_path
from index_config.client import get_client
from index_config.search import SearchError
from webapp import markup
from webapp.security import (
    SECURE_SESSION_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    LoginThrottle,
    SecurityHeaders,
    TokenCache,
    api_role,
    csrf_token,
    principal,
)

HERE = Path(__file__).parent


def secret_key(settings: Settings) -> str:
    """`web.secret_key`, else a random key kept in var/web-secret (0600) so sessions survive restarts."""
    if settings.web.secret_key:
        return settings.web.secret_key
    path = settings.var_dir / "web-secret"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=str(HERE / "templates"))
    env.env.globals.update(
        hl=markup.highlight_fragment, http_url=markup.http_url, utc=markup.utc, csrf_token=csrf_token
    )
    return env


def create_app(settings: Settings) -> FastAPI:
    """The app for `settings`; opens (and migrates) the store now so a bad db.url fails at start."""
    from webapp import alerts, api, liaison, pages

    get_engine(settings)
    app = FastAPI(
        title="listingwatch analyst API",
        description=(
            "Search, read and triage crawled listings. Authenticate with the web session cookie or "
            "`Authorization: Bearer TOKEN` (create one with `listingwatch users token NAME`)."
        ),
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind login
    )
    web = settings.web
    secure = web.cookies_secure()
    app.state.settings = settings
    app.state.es = get_client(settings)
    app.state.templates = templates()
    app.state.throttle = LoginThrottle(web.login_attempts_per_minute, web.login_attempts_per_hour, web.throttle_storage)
    app.state.token_cache = TokenCache(stamp=stamp_path(settings))
    app.add_middleware(SecurityHeaders, hsts_seconds=web.hsts_seconds)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        max_age=web.session_hours * 3600,
        same_site="strict",
        https_only=secure,
    )
    if web.trusted_proxies:
        # Outermost: the client address and scheme every layer below sees come from the proxy's headers.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=web.trusted_proxies)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(liaison.router)
    app.include_router(liaison.api_router)
    app.include_router(alerts.router)

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(api_role("analyst"))])
    def openapi_schema() -> dict[str, Any]:
        """The OpenAPI document, for logged-in users and token holders only: the API surface is not advertised."""
        return app.openapi()

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(SearchError)
    async def _search_error(request: Request, exc: SearchError) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return _error_page(request, 400, str(exc))

    return app


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


def _error_page(request: Request, status: int, message: str) -> Response:
    context: dict[str, Any] = {"status": status, "message": message, "user": principal(request)}
    return request.app.state.templates.TemplateResponse(request, "error.html", context, status_code=status)
