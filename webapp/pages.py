"""The HTML pages. Each route names the least role it needs; forms check the CSRF token."""

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.errors import ListingwatchError
from core.store import ROLES, TRIAGE_DECISIONS, User, session_scope
from core.store.saved import delete_search, save_search, searches_of
from core.store.triage import recent_decisions, record_decision
from core.store.users import add_user, authenticate, list_users
from index_config.overview import overview
from index_config.saved_searches import LIST_FIELDS, params_from_query_string
from index_config.search import CONTACT_FIELDS, FIELDS, SearchParams, count, parse_params, search
from index_config.sellers import get_seller, list_sellers
from index_config.triage import write_triage
from monitor.timeline import lag_rows, listing_timeline, timelines
from webapp import graph
from webapp.evidence import evidence_path, read_record
from webapp.security import Principal, check_csrf, page_role, principal
from webapp.views import get_listing, highlighted_fields, listing_view

router = APIRouter(include_in_schema=False)
Analyst = Annotated[Principal, Depends(page_role("analyst"))]
Admin = Annotated[Principal, Depends(page_role("admin"))]
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
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf)
    throttle = request.app.state.throttle
    client = request.client.host if request.client else "?"
    if not throttle.allowed(client, username):
        return _render(
            request,
            "login.html",
            status_code=429,
            next=safe_next(next),
            error="Too many failed logins; wait a minute and try again.",
        )
    with session_scope(request.app.state.settings) as db:
        user = authenticate(db, username, password)
        found = (user.id, user.role) if user else None
    if found is None:
        throttle.failed(client, username)
        return _render(
            request, "login.html", status_code=401, next=safe_next(next), error="Wrong user name or password."
        )
    request.session.clear()  # a new session (and CSRF token) on login: no session fixation
    request.session.update({"uid": found[0], "at": int(time.time()), "csrf": secrets.token_urlsafe(32)})
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, user: Analyst) -> Response:
    settings = request.app.state.settings
    with session_scope(settings) as db:
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
        waiting=count(request.app.state.es, settings, waiting),
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
def search_page(request: Request, user: Analyst) -> Response:
    params = params_from_request(request)
    result = search(request.app.state.es, request.app.state.settings, params)
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
def listing_page(request: Request, listing_id: str, user: Analyst) -> Response:
    view = listing_view(request.app.state.es, request.app.state.settings, listing_id)
    if view is None:
        raise HTTPException(status_code=404, detail="No listing with this id in the index.")
    with session_scope(request.app.state.settings) as db:
        timeline = listing_timeline(request.app.state.es, request.app.state.settings, db, listing_id)
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
def screenshot(request: Request, listing_id: str, user: Analyst) -> Response:
    settings = request.app.state.settings
    doc = get_listing(request.app.state.es, settings, listing_id)
    path = evidence_path(
        settings, ((doc or {}).get("evidence") or {}).get("screenshot_path"), (".png", ".jpg", ".jpeg")
    )
    if path is None:
        raise HTTPException(status_code=404, detail="This listing has no screenshot on this server.")
    return FileResponse(path, media_type="image/png" if path.suffix == ".png" else "image/jpeg")


@router.get("/listings/{listing_id}/warc")
def warc_record(request: Request, listing_id: str, user: Analyst) -> Response:
    settings = request.app.state.settings
    doc = get_listing(request.app.state.es, settings, listing_id)
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


def apply_decision(request: Request, user: Principal, listing_id: str, decision: str, note: str | None) -> None:
    """Store the decision (history kept) and copy it onto the listing document, visible to the next search."""
    settings, es = request.app.state.settings, request.app.state.es
    if get_listing(es, settings, listing_id) is None:
        raise HTTPException(status_code=404, detail="No listing with this id in the index.")
    with session_scope(settings) as db:
        try:
            made = record_decision(db, listing_id, decision, db.get_one(User, user.id), note)
        except ListingwatchError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
    write_triage(es, settings, made, refresh=True)


@router.post("/listings/{listing_id}/triage")
def triage(
    request: Request,
    listing_id: str,
    user: Analyst,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf, user)
    apply_decision(request, user, listing_id, decision, note.strip() or None)
    return RedirectResponse(safe_next(next, f"/listings/{listing_id}"), status_code=303)


@router.get("/sellers")
def sellers_page(request: Request, user: Analyst, q: str = "") -> Response:
    total, clusters = list_sellers(request.app.state.es, request.app.state.settings, q[:500])
    return _render(request, "sellers.html", total=total, clusters=clusters, q=q)


@router.get("/sellers/{cluster_id}")
def seller_page(request: Request, cluster_id: str, user: Analyst) -> Response:
    cluster = get_seller(request.app.state.es, request.app.state.settings, cluster_id)
    if cluster is None:
        raise HTTPException(status_code=404, detail="No seller cluster with this id (clusters are rebuilt each run).")
    return _render(request, "seller.html", c=cluster, svg=graph.layout(cluster.get("graph") or {}))


@router.get("/overview")
def overview_page(request: Request, user: Analyst) -> Response:
    es, settings = request.app.state.es, request.app.state.settings
    with session_scope(settings) as db:
        lags = [r.as_dict() for r in lag_rows(timelines(es, settings, db).values(), "platform", datetime.now(UTC))]
    return _render(request, "overview.html", data=overview(es, settings), lags=lags)


@router.post("/saved")
def save(
    request: Request,
    user: Analyst,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf, user)

    canonical = params_from_query_string(query).query_string()  # only what the search understands is kept
    with session_scope(request.app.state.settings) as db:
        try:
            save_search(db, db.get_one(User, user.id), name, canonical)
        except ListingwatchError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/", status_code=303)


@router.post("/saved/{search_id}/delete")
def delete_saved(request: Request, search_id: int, user: Analyst, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf, user)

    with session_scope(request.app.state.settings) as db:
        if not delete_search(db, db.get_one(User, user.id), search_id):
            raise HTTPException(status_code=404, detail="No saved search of yours with this id.")
    return RedirectResponse("/", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, user: Admin) -> Response:
    with session_scope(request.app.state.settings) as db:
        rows = [
            {"name": u.name, "role": u.role, "created_at": u.created_at, "disabled": u.disabled} for u in list_users(db)
        ]
    return _render(request, "users.html", users=rows, roles=ROLES, error=None)


@router.post("/admin/users")
def add_user_page(
    request: Request,
    user: Admin,
    name: Annotated[str, Form(max_length=128)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf, user)
    with session_scope(request.app.state.settings) as db:
        try:
            add_user(db, name, role, password)
        except ListingwatchError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/docs")
def api_docs(request: Request, user: Analyst) -> Response:
    """The API reference, rendered here from the OpenAPI document (no third-party viewer, no CDN)."""
    spec = request.app.openapi()
    return _render(request, "api_docs.html", spec=spec)


@router.get("/admin/sources")
def sources_page(request: Request, user: Admin) -> Response:
    """The configured sources and any that fail validation (edit the YAML files; `listingwatch sources check`)."""
    from crawlers.sources import SourceConfig, load_sources
    from monitor.schedule import schedule_text

    directory = request.app.state.settings.crawl.sources_dir
    loaded = load_sources(directory)
    rows = []
    with session_scope(request.app.state.settings) as db:  # adaptive sources show their interval now and why
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
