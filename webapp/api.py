"""The JSON API: the same search and listing data as the pages, for scripts (`Authorization: Bearer TOKEN`)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from index_config.search import SearchParams, search
from index_config.sellers import get_seller, list_sellers
from webapp.deps import ApiAnalyst as Analyst
from webapp.deps import EsDep, SettingsDep
from webapp.markup import highlight_fragment
from webapp.pages import apply_decision
from webapp.security import check_api_csrf
from webapp.views import listing_view

router = APIRouter(prefix="/api", tags=["api"])


class SearchResponse(BaseModel):
    total: int = Field(description="Matching listings (exact).")
    hits: list[dict[str, Any]] = Field(
        description="One page of listings; `highlight` fragments are HTML-escaped text with <mark> tags."
    )
    facets: dict[str, list[dict[str, Any]]] = Field(description="Counts per filter value (first page only).")
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    warnings: list[str] = Field(description="Sentences about parts of `q` that were not read as written.")


class TriageRequest(BaseModel):
    decision: Literal["confirmed", "false_positive", "needs_review"]
    note: str | None = Field(default=None, max_length=4000)


@router.get("/search", response_model=SearchResponse)
def api_search(user: Analyst, es: EsDep, settings: SettingsDep, params: Annotated[SearchParams, Query()]) -> Response:
    """Search listings; parameters as on the search page (the `q` syntax is described there)."""
    result = search(es, settings, params)
    hits = []
    for hit in result.hits:
        highlight = {k: [str(highlight_fragment(f)) for f in v] for k, v in hit["highlight"].items()}
        hits.append(hit | {"highlight": highlight})
    # Returned as is: the shape is documented by `response_model`, re-validating every hit would only cost time.
    return JSONResponse(
        {"total": result.total, "hits": hits, "facets": result.facets, "next": result.next, "warnings": result.warnings}
    )


@router.get("/listings/{listing_id}")
def api_listing(listing_id: str, user: Analyst, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    """Everything stored about one listing: document, observations, related listings, seller cluster, triage.

    Liaison audit notes in `doc.takedown.history` are shown to the liaison role and above only.
    """
    view = listing_view(es, settings, listing_id, takedown_notes=user.may("liaison"))
    if view is None:
        raise HTTPException(status_code=404, detail="No listing with this id in the index.")
    return view


@router.post("/listings/{listing_id}/triage")
def api_triage(
    request: Request, listing_id: str, body: TriageRequest, user: Analyst, es: EsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Record a triage decision (history kept); cookie sessions must send the `X-CSRF-Token` header."""
    check_api_csrf(request, user)
    apply_decision(es, settings, user, listing_id, body.decision, body.note)
    return {"listing_id": listing_id, "decision": body.decision, "by": user.name}


@router.get("/sellers")
def api_sellers(
    user: Analyst, es: EsDep, settings: SettingsDep, q: str = "", size: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict:
    """Seller clusters, biggest first; `q` matches an identifier, seller name or listing id."""
    total, clusters = list_sellers(es, settings, q[:500], size)
    return {"total": total, "clusters": clusters}


@router.get("/sellers/{cluster_id}")
def api_seller(cluster_id: str, user: Analyst, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    cluster = get_seller(es, settings, cluster_id)
    if cluster is None:
        raise HTTPException(status_code=404, detail="No seller cluster with this id.")
    return cluster
