"""The HTML pages. Each route names the least role it needs; forms check the CSRF token."""

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.errors import ListingwatchError
from core.store import ROLES, TRIAGE_DECISIONS, User
from core.store.saved import delete_search, save_search, searches_of
from core.store.triage import TriageError, recent_decisions
from core.store.users import (
    UserError,
    add_user,
    authenticate,
    credentials_changed,
    end_sessions,
    list_users,
    recent_auth_events,
    record_auth_event,
    require_user,
    revoke_token,
    set_disabled,
    set_role,
    tokens_of,
)
from crawlers.evidence_files import evidence_path, read_record
from index_config.listing_reads import get_listing
from index_config.overview import overview
from index_config.saved_searches import LIST_FIELDS, params_from_query_string
from index_config.search import CONTACT_FIELDS, FIELDS, SearchParams, count, parse_params, search
from index_config.sellers import get_seller, list_sellers
from index_config.triage import ListingNotIndexed, decide
from monitor.timeline import lag_rows, listing_timeline, timelines
from webapp import graph
from webapp.deps import (
    Admin,
    AdminPost,
    Analyst,
    AnalystPost,
    DbSession,
    EsDep,
    SettingsDep,
    ThrottleDep,
    TokenCacheDep,
)
from webapp.photos import PhotoUnavailable, archived_photo
from webapp.security import Principal, check_csrf, client_address, principal
from webapp.views import highlighted_fields, listing_view

router = APIRouter(include_in_schema=False)
FACET_LABELS = {
    "site": "Site",
    "platform": "Platform",
    "scope": "Scope",
    "substance": "Substance",
    "language": "Language",
    "triage": "Triage",
    "takedown": "Takedown",
}


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("user", principal(request))
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: an open redirect would make the login page a phishing tool."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def params_from_request(request: Request) -> SearchParams:
    data: dict[str, Any] = {}
    for key in SearchParams.model_fields:
        values = [v for v in request.query_params.getlist(key) if v.strip()]
        if values:
            data[key] = values if key in LIST_FIELDS else values[-1]
    return parse_params(data)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    db: DbSession,
    throttle: ThrottleDep,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf)
    client = client_address(request)
    wait = throttle.attempt(client, username)  # counted before the password is checked, refunded on success
    if wait is not None:
        record_auth_event(db, username, client, "throttled")
        reply = _render(
            request,
            "login.html",
            status_code=429,
            next=safe_next(next),
            error=f"Too many failed logins; try again in {wait:.0f} seconds.",
        )
        reply.headers["Retry-After"] = f"{wait:.0f}"
        return reply
    user = authenticate(db, username, password)
    if user is None:
        record_auth_event(db, username, client, "failed")
        return _render(
            request, "login.html", status_code=401, next=safe_next(next), error="Wrong user name or password."
        )
    throttle.succeeded(client, username)
    record_auth_event(db, user.name, client, "login")
    request.session.clear()  # a new session (and CSRF token) on login: no session fixation
    request.session.update(
        {"uid": user.id, "gen": user.session_generation, "at": int(time.time()), "csrf": secrets.token_urlsafe(32)}
    )
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(
    request: Request, db: DbSession, csrf: Annotated[str, Form()] = "", everywhere: Annotated[str, Form()] = ""
) -> Response:
    """Log out; with `everywhere`, every session of this user ends (a copied cookie dies with it)."""
    check_csrf(request, csrf)
    user = principal(request)
    if user is not None:
        if everywhere:
            end_sessions(db.get_one(User, user.id))
        record_auth_event(db, user.name, client_address(request), "logout_everywhere" if everywhere else "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, user: Analyst, db: DbSession, es: EsDep, settings: SettingsDep) -> Response:
    me = db.get_one(User, user.id)
    saved = [
        {
            "id": s.id,
            "name": s.name,
            "query": s.query,
            "new": s.new_matches,
            "total": s.total,
            "checked_at": s.checked_at,
        }
        for s in searches_of(db, me)
    ]
    recent = recent_decisions(db, me)
    waiting = parse_params({"flagged": True, "triage": ["untriaged"]})
    return _render(
        request,
        "home.html",
        saved=saved,
        recent=recent,
        waiting=count(es, settings, waiting),
        waiting_url="/search?" + waiting.query_string(),
    )


def _facet_links(params: SearchParams, facets: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each facet value as a link that adds (or, when active, removes) it as a filter."""
    out: dict[str, list[dict]] = {}
    for name in FACET_LABELS:
        active = set(getattr(params, name))
        rows = []
        for bucket in facets.get(name, []):
            key = str(bucket["key"])
            chosen = sorted(active ^ {key})
            rows.append(
                {
                    "key": key,
                    "count": bucket["count"],
                    "active": key in active,
                    "href": "/search?" + params.query_string(**{name: chosen}),
                }
            )
        out[name] = rows
    return out


@router.get("/search")
def search_page(request: Request, user: Analyst, es: EsDep, settings: SettingsDep) -> Response:
    params = params_from_request(request)
    result = search(es, settings, params)
    return _render(
        request,
        "search.html",
        params=params,
        result=result,
        facets=_facet_links(params, result.facets),
        facet_labels=FACET_LABELS,
        has=result.facets.get("has", []),
        this_url="/search?" + params.query_string(),
        next_url=("/search?" + params.query_string(cursor=result.next)) if result.next else None,
        fields=sorted(FIELDS),
        decisions=TRIAGE_DECISIONS,
    )


@router.get("/listings/{listing_id}")
def listing_page(
    request: Request, listing_id: str, user: Analyst, es: EsDep, settings: SettingsDep, db: DbSession
) -> Response:
    view = listing_view(es, settings, listing_id, takedown_notes=user.may("liaison"))
    if view is None:
        raise HTTPException(status_code=404, detail="No listing with this id in the index.")
    timeline = listing_timeline(es, settings, db, listing_id)
    return _render(
        request,
        "listing.html",
        timeline=timeline.steps() if timeline else [],
        v=view,
        doc=view["doc"],
        text=highlighted_fields(view["doc"]),
        decisions=TRIAGE_DECISIONS,
        contact_fields=CONTACT_FIELDS,
    )


@router.get("/listings/{listing_id}/screenshot")
def screenshot(listing_id: str, user: Analyst, es: EsDep, settings: SettingsDep) -> Response:
    doc = get_listing(es, settings, listing_id)
    path = evidence_path(
        settings, ((doc or {}).get("evidence") or {}).get("screenshot_path"), (".png", ".jpg", ".jpeg")
    )
    if path is None:
        raise HTTPException(status_code=404, detail="This listing has no screenshot on this server.")
    return FileResponse(path, media_type="image/png" if path.suffix == ".png" else "image/jpeg")


@router.get("/listings/{listing_id}/photos/{index}")
def photo(listing_id: str, index: int, user: Analyst, es: EsDep, settings: SettingsDep) -> Response:
    """A listing photo's archived bytes, as an image and nothing else (see `webapp.photos`)."""
    try:
        found = archived_photo(settings, get_listing(es, settings, listing_id) or {}, index)
    except PhotoUnavailable as err:
        raise HTTPException(status_code=err.status, detail=str(err)) from None
    return Response(
        found.data,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'inline; filename="photo-{index}.{found.extension}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get("/listings/{listing_id}/warc")
def warc_record(listing_id: str, user: Analyst, es: EsDep, settings: SettingsDep) -> Response:
    doc = get_listing(es, settings, listing_id)
    ev = (doc or {}).get("evidence") or {}
    path = evidence_path(settings, ev.get("warc_file"), (".warc", ".warc.gz"))
    record = read_record(path, ev["warc_offset"]) if path and isinstance(ev.get("warc_offset"), int) else None
    if record is None:
        raise HTTPException(status_code=404, detail="This listing's WARC record is not on this server.")
    gz = path is not None and path.name.endswith(".gz")
    return Response(
        record.raw,
        media_type="application/warc",
        headers={"Content-Disposition": f'attachment; filename="{listing_id}.warc{".gz" if gz else ""}"'},
    )


def apply_decision(
    es: EsDep, settings: SettingsDep, user: Principal, listing_id: str, decision: str, note: str | None
) -> None:
    """`index_config.triage.decide` for one listing, its errors as HTTP answers (the page and the API share it)."""
    try:
        decide(es, settings, user.name, [listing_id], decision, note, refresh=True)
    except ListingNotIndexed:
        raise HTTPException(status_code=404, detail="No listing with this id in the index.") from None
    except TriageError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None


@router.post("/listings/{listing_id}/triage")
def triage(
    listing_id: str,
    user: AnalystPost,
    es: EsDep,
    settings: SettingsDep,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    apply_decision(es, settings, user, listing_id, decision, note.strip() or None)
    return RedirectResponse(safe_next(next, f"/listings/{listing_id}"), status_code=303)


@router.get("/sellers")
def sellers_page(request: Request, user: Analyst, es: EsDep, settings: SettingsDep, q: str = "") -> Response:
    total, clusters = list_sellers(es, settings, q[:500])
    return _render(request, "sellers.html", total=total, clusters=clusters, q=q)


@router.get("/sellers/{cluster_id}")
def seller_page(request: Request, cluster_id: str, user: Analyst, es: EsDep, settings: SettingsDep) -> Response:
    cluster = get_seller(es, settings, cluster_id)
    if cluster is None:
        raise HTTPException(status_code=404, detail="No seller cluster with this id (clusters are rebuilt each run).")
    return _render(request, "seller.html", c=cluster, svg=graph.layout(cluster.get("graph") or {}))


@router.get("/overview")
def overview_page(request: Request, user: Analyst, es: EsDep, settings: SettingsDep, db: DbSession) -> Response:
    lags = [r.as_dict() for r in lag_rows(timelines(es, settings, db).values(), "platform", datetime.now(UTC))]
    return _render(request, "overview.html", data=overview(es, settings), lags=lags)


@router.post("/saved")
def save(
    user: AnalystPost,
    db: DbSession,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    canonical = params_from_query_string(query).query_string()  # only what the search understands is kept
    try:
        save_search(db, db.get_one(User, user.id), name, canonical)
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/", status_code=303)


@router.post("/saved/{search_id}/delete")
def delete_saved(search_id: int, user: AnalystPost, db: DbSession) -> Response:
    if not delete_search(db, db.get_one(User, user.id), search_id):
        raise HTTPException(status_code=404, detail="No saved search of yours with this id.")
    return RedirectResponse("/", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, user: Admin, db: DbSession) -> Response:
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "created_at": u.created_at,
            "disabled": u.disabled,
            "tokens": tokens_of(db, u),
        }
        for u in list_users(db)
    ]
    return _render(request, "users.html", users=rows, roles=ROLES, events=recent_auth_events(db, 50), error=None)


@router.post("/admin/users")
def add_user_page(
    request: Request,
    user: AdminPost,
    db: DbSession,
    name: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        add_user(db, name, role, password)
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    record_auth_event(db, name, client_address(request), "user_added", f"by {user.name}")
    return RedirectResponse("/admin/users", status_code=303)


USER_ACTIONS = ("disable", "enable", "role", "logout", "revoke")


@router.post("/admin/users/{name}")
def change_user_page(
    request: Request,
    name: str,
    user: AdminPost,
    db: DbSession,
    settings: SettingsDep,
    cache: TokenCacheDep,
    action: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
    token_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Disable, enable, change the role of, log out everywhere, or revoke a token of one account."""
    if action not in USER_ACTIONS:
        raise HTTPException(status_code=400, detail=f"The action must be one of {', '.join(USER_ACTIONS)}.")
    try:
        target = require_user(db, name)
        if action == "revoke":
            if not token_id.isdigit() or all(t.id != int(token_id) for t in tokens_of(db, target)):
                raise UserError(f"{name} has no API token with id {token_id!r}.")
            revoke_token(db, token_id)
        elif action == "role":
            set_role(target, role)
        elif action == "logout":
            end_sessions(target)
        else:
            set_disabled(target, action == "disable")
    except UserError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    detail = f"by {user.name}" + (f": {role}" if action == "role" else f": token {token_id}" if token_id else "")
    record_auth_event(db, name, client_address(request), f"admin_{action}", detail)
    db.flush()
    cache.clear()
    credentials_changed(settings)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/docs")
def api_docs(request: Request, user: Analyst) -> Response:
    """The API reference, rendered here from the OpenAPI document (no third-party viewer, no CDN)."""
    spec = request.app.openapi()
    return _render(request, "api_docs.html", spec=spec)


@router.get("/admin/sources")
def sources_page(request: Request, user: Admin, settings: SettingsDep, db: DbSession) -> Response:
    """The configured sources and any that fail validation (edit the YAML files; `listingwatch sources check`)."""
    from crawlers.sources import SourceConfig, load_sources
    from monitor.schedule import schedule_text

    directory = settings.crawl.sources_dir
    loaded = load_sources(directory)
    rows = []
    # adaptive sources show their interval now and why
    schedules = {
        name: schedule_text(db, result, datetime.now(UTC))
        for name, result in loaded.items()
        if isinstance(result, SourceConfig)
    }
    for name, result in loaded.items():
        if isinstance(result, SourceConfig):
            rows.append(
                {
                    "name": name,
                    "platform": result.platform,
                    "render": result.render,
                    "schedule": schedules[name],
                    "enabled": result.enabled,
                    "start_urls": result.start_urls,
                    "error": None,
                }
            )
        else:
            rows.append({"name": name, "error": str(result)})
    return _render(request, "sources.html", sources=rows, directory=str(directory))
