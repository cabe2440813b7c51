"""The liaison page: accountability per platform, items waiting, packets to export, download and mark sent.

A shell over `takedown.*`: the same figures as `listingwatch takedown report`, the same
export as `listingwatch takedown export`. Every route needs the liaison role; forms check CSRF.
"""

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select

from core.errors import ListingwatchError
from core.store import session_scope
from core.store.takedowns import Appeal, PlatformResponse, TakedownItem, TakedownPacket
from takedown import accountability, yearly
from takedown.workflow import export, mark_sent, registry_for
from webapp.security import Principal, api_role, check_csrf, page_role, principal

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/takedown", tags=["takedown"])
Liaison = Annotated[Principal, Depends(page_role("liaison"))]
ApiLiaison = Annotated[Principal, Depends(api_role("liaison"))]
MAX_PACKETS_SHOWN = 50
MAX_ANSWERS_SHOWN = 50


@router.get("/liaison")
def liaison_page(request: Request, user: Liaison, made: str | None = None, year: int | None = None) -> Response:
    settings = request.app.state.settings
    registry = registry_for(settings)
    now = datetime.now(UTC)
    period = str(year or now.year)
    with session_scope(settings) as db:
        rows = accountability.report(db, registry)
        figures = yearly.as_json(
            yearly.yearly(accountability.facts_from_store(db), registry, period, "platform", now), period, "platform"
        )
        answers = [
            {
                "item": r.item_id,
                "url": r.item.url,
                "platform": r.item.platform,
                "decision": r.decision,
                "countries": r.countries,
                "grounds": r.grounds,
                "at": r.at,
            }
            for r in db.scalars(select(PlatformResponse).order_by(PlatformResponse.at.desc()).limit(MAX_ANSWERS_SHOWN))
        ]
        appeals = [
            {"item": a.item_id, "against": a.response.decision, "filed_at": a.filed_at, "deadline": a.deadline}
            for a in db.scalars(select(Appeal).order_by(Appeal.filed_at.desc()).limit(MAX_ANSWERS_SHOWN))
        ]
        counts = Counter((i.platform, i.status) for i in db.scalars(select(TakedownItem)))
        packets = [
            {
                "id": p.id,
                "platform": p.platform,
                "created_at": p.created_at,
                "listings": len(p.items),
                "sent_at": p.sent_at,
                "sent_by": p.sent_by,
                "ticket": p.ticket,
                "timestamped": p.timestamped,
            }
            for p in db.scalars(
                select(TakedownPacket).order_by(TakedownPacket.created_at.desc()).limit(MAX_PACKETS_SHOWN)
            )
        ]
    waiting = [
        {
            "key": p.key,
            "name": p.name,
            "new": counts[(p.key, "new")],
            "open": sum(n for (k, s), n in counts.items() if k == p.key and s in ("queued", "reported", "still_live")),
        }
        for p in registry.platforms
        if any(k == p.key for k, _ in counts)
    ]
    context = {
        "user": principal(request),
        "rows": rows,
        "columns": accountability.COLUMNS,
        "cell": accountability.cell,
        "waiting": waiting,
        "packets": packets,
        "made": made,
        "figures": figures,
        "answers": answers,
        "appeals": appeals,
    }
    return request.app.state.templates.TemplateResponse(request, "liaison.html", context)


@router.post("/liaison/export")
def export_packet(
    request: Request, user: Liaison, platform: Annotated[str, Form(max_length=200)], csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf, user)
    settings = request.app.state.settings
    with session_scope(settings) as db:
        try:
            packets, _ = export(db, request.app.state.es, settings, registry_for(settings), platform, None, user.name)
        except ListingwatchError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse(f"/liaison?made={packets[0].packet_id}", status_code=303)


def _packet_file(request: Request, packet_id: str) -> Path:
    with session_scope(request.app.state.settings) as db:
        packet = db.get(TakedownPacket, packet_id)
        path = Path(packet.path) if packet else None
    if path is None or not path.is_file():
        raise HTTPException(status_code=404, detail="No such packet (or its file was moved).")
    return path


@router.get("/liaison/packets/{packet_id}.zip")
def download_packet(request: Request, packet_id: str, user: Liaison) -> Response:
    path = _packet_file(request, packet_id)
    return FileResponse(path, media_type="application/zip", filename=path.name)


@router.post("/liaison/packets/{packet_id}/sent")
def packet_sent(request: Request, packet_id: str, user: Liaison, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf, user)
    settings = request.app.state.settings
    with session_scope(settings) as db:
        try:
            mark_sent(db, request.app.state.es, settings, packet_id, user.name)
        except ListingwatchError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/liaison", status_code=303)


@api_router.get("/report")
def report_api(request: Request, user: ApiLiaison) -> list[dict[str, object]]:
    """Per-platform accountability, as `listingwatch takedown report --format json` prints it."""
    settings = request.app.state.settings
    with session_scope(settings) as db:
        return [r.as_dict() for r in accountability.report(db, registry_for(settings))]
