"""The liaison page: accountability per platform, items waiting, packets to export, download and mark sent.

A shell over `takedown.*`: the same figures as `listingwatch takedown report`, the same
export as `listingwatch takedown export`. Every route needs the liaison role; forms check CSRF.
"""

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from core.errors import ListingwatchError
from core.store.takedowns import DECISIONS, TakedownPacket
from takedown import accountability, cases, mirror
from takedown.overview import liaison_overview
from takedown.workflow import export, mark_sent, registry_for
from webapp.deps import ApiLiaison, DbSession, EsDep, Liaison, LiaisonPost, SettingsDep, TemplatesDep
from webapp.security import principal

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/takedown", tags=["takedown"])


@router.get("/liaison")
def liaison_page(
    request: Request,
    user: Liaison,
    db: DbSession,
    settings: SettingsDep,
    templates: TemplatesDep,
    made: str | None = None,
    year: int | None = None,
) -> Response:
    period = str(year or datetime.now(UTC).year)
    overview = liaison_overview(db, registry_for(settings), period, datetime.now(UTC))
    context = {
        **{f.name: getattr(overview, f.name) for f in fields(overview)},
        "user": principal(request),
        "columns": accountability.COLUMNS,
        "cell": accountability.cell,
        "made": made,
        "decisions": DECISIONS,
    }
    return templates.TemplateResponse(request, "liaison.html", context)


@router.post("/liaison/export")
def export_packet(
    user: LiaisonPost,
    db: DbSession,
    es: EsDep,
    settings: SettingsDep,
    platform: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        packets, _ = export(db, es, settings, registry_for(settings), platform, None, user.name)
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse(f"/liaison?made={packets[0].packet_id}", status_code=303)


@router.get("/liaison/packets/{packet_id}.zip")
def download_packet(packet_id: str, user: Liaison, db: DbSession) -> Response:
    packet = db.get(TakedownPacket, packet_id)
    path = Path(packet.path) if packet else None
    if path is None or not path.is_file():
        raise HTTPException(status_code=404, detail="No such packet (or its file was moved).")
    return FileResponse(path, media_type="application/zip", filename=path.name)


@router.post("/liaison/packets/{packet_id}/sent")
def packet_sent(
    packet_id: str,
    user: LiaisonPost,
    db: DbSession,
    es: EsDep,
    settings: SettingsDep,
) -> Response:
    try:
        mark_sent(db, es, settings, packet_id, user.name)
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/liaison", status_code=303)


@router.post("/liaison/answers")
def record_answer(
    user: LiaisonPost,
    db: DbSession,
    es: EsDep,
    settings: SettingsDep,
    ref: Annotated[str, Form(max_length=200)],
    decision: Annotated[str, Form(max_length=32)],
    grounds: Annotated[str, Form(max_length=cases.MAX_NOTE)] = "",
    countries: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """The same as `listingwatch takedown response`: a packet id records the answer for each of its items."""
    try:
        items = cases.items_by_ref(db, ref)
        for item in items:
            cases.record_response(
                db, item, decision, user.name, grounds.strip() or None, countries.replace(",", " ").split()
            )
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    mirror.sync(es, settings, items)
    return RedirectResponse("/liaison#answers", status_code=303)


@router.post("/liaison/appeals")
def file_appeal(
    user: LiaisonPost,
    db: DbSession,
    item: Annotated[str, Form(max_length=200)],
    note: Annotated[str, Form(max_length=cases.MAX_NOTE)],
) -> Response:
    """The same as `listingwatch takedown appeal`: refused past the six-month deadline (DSA Art. 20)."""
    try:
        cases.file_appeal(db, cases.get_item(db, item.strip()), note, user.name)
    except ListingwatchError as err:
        raise HTTPException(status_code=400, detail=str(err)) from None
    return RedirectResponse("/liaison#answers", status_code=303)


@api_router.get("/report")
def report_api(user: ApiLiaison, db: DbSession, settings: SettingsDep) -> list[dict[str, object]]:
    """Per-platform accountability, as `listingwatch takedown report --format json` prints it."""
    return [r.as_dict() for r in accountability.report(db, registry_for(settings))]
