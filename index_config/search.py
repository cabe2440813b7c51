"""The analysts' search: one query box, filters, facets, highlights, sorting and deep paging.

Query syntax (the search page's help text repeats it):

* ``pressed pills`` — every word must appear in the title, description or seller name;
* ``"china white"`` — a phrase;
* ``field:value`` / ``field:"two words"`` — one field (``FIELDS`` lists them: ``site:``,
  ``telegram:``, ``handle:`` (any contact), ``crypto:``, ``substance:``, ``triage:``...), each
  value read as ``index_config.vocabulary`` says (``@`` optional, phones in any spelling...);
  an unknown ``name:`` is searched as text and the reply carries a warning naming it;
* ``-word`` / ``-field:value`` — exclude;
* ``score:>0.9``, ``score:0.5..0.8``, ``price:<=100`` — numeric ranges.

The integ-test distribution has only the standard analyzer, so every listing also stores its
text folded by the project's own function (``core.lexicon.fold_text``: case, accents,
homoglyphs, zero-width, spaced letters, leetspeak) in ``folded.*``; a word is searched in the
original fields as typed and in the folded fields folded the same way. A word naming a
substance by name in the lexicon (fentanyl, fent, meth...) also matches listings the classifier
tagged with that substance.
Paging uses ``search_after`` on a sort that ends in the unique listing id; from the second page
on, the cursor carries a point in time so that paging past 10,000 hits stays consistent. Cursors
are signed and bound to their search (``index_config.cursors``); the point in time is closed when
the last page has been read.

The first page is one ``_msearch`` round trip of two searches that the node runs side by side:
the page of hits (sorted, highlighted, without counting every match, so a sort on a field can
skip non-competitive documents) and a ``size: 0`` search for the exact total and the facets
(eligible for the shard request cache). Later pages are one search that also counts.
"""

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlencode

from elastic_transport import ApiResponseMeta
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from elasticsearch.exceptions import HTTP_EXCEPTIONS
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ListingwatchError
from core.lexicon import fold_text
from core.schema import CONTACT_KINDS
from core.settings import Settings
from index_config import cursors
from index_config.manage import listings_alias
from index_config.vocabulary import NORMALISERS, TRIAGE_SPELLINGS, Match, platform_match, platform_table

MAX_QUERY_CHARS = 1_000
MAX_TERMS = 40
PIT_KEEP_ALIVE = "10m"
# Private-use code points mark highlights, so the caller escapes the text first and only then
# turns these into <mark> tags: nothing the crawled page wrote is ever trusted as HTML.
HL_START, HL_END = "\ue000", "\ue001"
TEXT_FIELDS = ("title^3", "seller.name^2", "description")
# Each text field's folded copy (documents.FoldedText), searched with the folded query beside it.
FOLDED = {"title": "folded.title", "seller.name": "folded.seller", "description": "folded.description"}
# `name:` in the box that is not a field but plainly part of a word or link: no warning for these.
NOT_FIELDS = frozenset({"http", "https", "mailto", "tel"})
CONTACT_FIELDS = CONTACT_KINDS
LIST_SOURCE = [
    "id",
    "url",
    "title",
    "site",
    "platform",
    "source",
    "price",
    "currency",
    "language",
    "first_seen",
    "last_seen",
    "seller.name",
    "classification.score",
    "classification.flagged",
    "classification.substances",
    "classification.scope",
    "classification.model_version",
    "triage",
    "takedown.status",
]

Kind = Literal["text", "keyword", "number"]
# name in the query box -> (kind, fields)
FIELDS: dict[str, tuple[Kind, tuple[str, ...]]] = {
    "title": ("text", ("title",)),
    "description": ("text", ("description",)),
    "seller": ("text", ("seller.name",)),
    "site": ("keyword", ("site",)),
    "platform": ("keyword", ("platform",)),
    "source": ("keyword", ("source",)),
    "substance": ("keyword", ("classification.substances",)),
    "scope": ("keyword", ("classification.scope",)),
    "language": ("keyword", ("language",)),
    "lang": ("keyword", ("language",)),
    "url": ("keyword", ("url",)),
    "id": ("keyword", ("id",)),
    "currency": ("keyword", ("currency",)),
    "model": ("keyword", ("classification.model_version",)),
    "profile": ("keyword", ("seller.profile_url",)),
    "handle": ("keyword", tuple(f"contacts.{c}" for c in CONTACT_FIELDS)),
    **{c: ("keyword", (f"contacts.{c}",)) for c in CONTACT_FIELDS},
    "crypto": ("keyword", ("crypto.address",)),
    "triage": ("keyword", ("triage.status",)),
    "takedown": ("keyword", ("takedown.status",)),
    "score": ("number", ("classification.score",)),
    "price": ("number", ("price",)),
}
FACETS: dict[str, dict[str, Any]] = {
    "site": {"terms": {"field": "site", "size": 20}},
    "platform": {"terms": {"field": "platform", "size": 20}},
    "substance": {"terms": {"field": "classification.substances", "size": 30}},
    "scope": {"terms": {"field": "classification.scope", "size": 3}},
    "language": {"terms": {"field": "language", "size": 20}},
    "takedown": {"terms": {"field": "takedown.status", "size": 10}},
    "triage": {"terms": {"field": "triage.status", "size": 10, "missing": "untriaged"}},
    "has": {
        "filters": {
            "filters": {
                "contact": {"bool": {"should": [{"exists": {"field": f"contacts.{c}"}} for c in CONTACT_FIELDS]}},
                "crypto": {"exists": {"field": "crypto.address"}},
            }
        }
    },
    "score": {
        "histogram": {"field": "classification.score", "interval": 0.1, "extended_bounds": {"min": 0, "max": 0.9}}
    },
}
SORTS: dict[str, list[dict[str, Any]]] = {
    # Synthetic offers first (the scope names sort synthetic > other_drug > none), then by score.
    "priority": [
        {"classification.scope": {"order": "desc", "missing": "_last"}},
        {"classification.score": {"order": "desc", "missing": "_last"}},
    ],
    "relevance": [{"_score": "desc"}, {"classification.score": {"order": "desc", "missing": "_last"}}],
    "score": [{"classification.score": {"order": "desc", "missing": "_last"}}],
    "newest": [{"last_seen": {"order": "desc", "missing": "_last"}}],
    "oldest": [{"first_seen": {"order": "asc", "missing": "_last"}}],
    "price": [{"price": {"order": "asc", "missing": "_last"}}],
    "price_desc": [{"price": {"order": "desc", "missing": "_last"}}],
}
TIEBREAK = {"id": "asc"}


class SearchError(ListingwatchError):
    """A query, filter or cursor the search cannot use; the message says what to change."""

    exit_code = 1


class SearchParams(BaseModel):
    """Everything that defines a search; the same names are the page's and the API's URL parameters.

    List defaults are `[]` (pydantic copies them per instance), not `default_factory=list`: FastAPI
    asks every missing field for its default on every request, and a factory costs an
    `inspect.signature` call each time.
    """

    model_config = ConfigDict(extra="ignore")

    q: str = Field(default="", max_length=MAX_QUERY_CHARS, description="Query in the documented syntax.")
    site: list[str] = Field(default=[])
    platform: list[str] = Field(default=[])
    substance: list[str] = Field(default=[])
    scope: list[str] = Field(default=[], description="synthetic, other_drug or none (not flagged).")
    language: list[str] = Field(default=[])
    takedown: list[str] = Field(default=[], description="Takedown status (none, reported, removed...).")
    triage: list[str] = Field(default=[], description="confirmed, false_positive, needs_review, untriaged.")
    score_min: float | None = Field(default=None, ge=0, le=1)
    score_max: float | None = Field(default=None, ge=0, le=1)
    first_seen_from: date | None = None
    first_seen_to: date | None = None
    last_seen_from: date | None = None
    last_seen_to: date | None = None
    has_contact: bool | None = None
    has_crypto: bool | None = None
    flagged: bool | None = None
    sort: Literal["priority", "relevance", "score", "newest", "oldest", "price", "price_desc"] = "priority"
    size: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4_000, description="The `next` of the previous page.")

    def query_string(self, **changes: Any) -> str:
        """URL parameters that reproduce this search (without the cursor unless given in `changes`)."""
        data = self.model_dump(exclude_defaults=True, exclude={"cursor"}) | changes
        pairs: list[tuple[str, str]] = []
        for key, value in data.items():
            for v in value if isinstance(value, list) else [value]:
                if v is None:
                    continue
                pairs.append((key, ("true" if v else "false") if isinstance(v, bool) else str(v)))
        return urlencode(pairs)


def parse_params(data: dict[str, Any]) -> SearchParams:
    """`SearchParams` from URL-style data, with every problem in one sentence."""
    try:
        return SearchParams.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'search'}: {e['msg']}" for e in err.errors())
        raise SearchError(f"Invalid search: {problems}.") from None


@dataclass
class Term:
    """One piece of the query box."""

    value: str
    field: str | None = None
    phrase: bool = False
    negated: bool = False


_TOKEN = re.compile(r'(-?)(?:([A-Za-z_]+):)?(?:"([^"]*)"?|(\S+))')


def parse_query(q: str, unknown: list[str] | None = None) -> list[Term]:
    """Split the query box into terms; `name:` that is not a known field is read as part of a word
    (and named in `unknown`, when given, so the reply can say so)."""
    terms = []
    for m in _TOKEN.finditer(q.strip()):
        negated, name, quoted, bare = m.group(1) == "-", m.group(2), m.group(3), m.group(4)
        value = quoted if quoted is not None else bare
        if name and name.lower() not in FIELDS:
            if unknown is not None and name.lower() not in NOT_FIELDS and name not in unknown:
                unknown.append(name)
            value, name = f"{name}:{value}", None
        if not value or not value.strip():
            continue
        terms.append(
            Term(value=value.strip(), field=name.lower() if name else None, phrase=quoted is not None, negated=negated)
        )
    if len(terms) > MAX_TERMS:
        raise SearchError(f"The query has {len(terms)} terms; use at most {MAX_TERMS}.")
    return terms


_RANGE = re.compile(r"^(>=|<=|>|<)?(-?\d+(?:\.\d+)?)(?:\.\.(-?\d+(?:\.\d+)?))?$")


def _range(field_name: str, name: str, value: str) -> dict[str, Any]:
    m = _RANGE.match(value)
    if not m:
        raise SearchError(f"{name}:{value} is not a number or range; write e.g. {name}:>0.9 or {name}:0.5..0.8.")
    op, low, high = m.groups()
    if high is not None:
        if op:
            raise SearchError(f"{name}:{value} mixes a comparison with a range; write {name}:{low}..{high}.")
        bounds = {"gte": float(low), "lte": float(high)}
    else:
        ops = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
        bounds = {ops[op]: float(low)} if op else {"gte": float(low), "lte": float(low)}
    return {"range": {field_name: bounds}}


@lru_cache(maxsize=1)
def _substance_words() -> dict[str, str]:
    """Folded one-word names of substances (fentanyl, fent, meth, xylazina...) -> the substance.

    Only names that start like the category do (not slang such as "blues" or "ice"): slang is
    ambiguous enough that matching every listing the classifier tagged would swamp the results.
    """
    from core.lexicon import load_lexicon

    lexicon = load_lexicon()
    words = {c.name: c.name for c in lexicon.categories if c.kind == "substance"}
    for key, (category, _term) in lexicon.ngrams.items():
        if len(key) == 1 and lexicon.kind(category) == "substance" and key[0].startswith(category[:4]):
            words.setdefault(key[0], category)
    return words


def _folded_fields(fields: tuple[str, ...]) -> list[str]:
    out = []
    for f in fields:
        name, _, boost = f.partition("^")
        out.append(FOLDED[name] + (f"^{boost}" if boost else ""))
    return out


def _text_clause(term: Term, fields: tuple[str, ...]) -> dict[str, Any]:
    kind = "phrase" if term.phrase else "best_fields"
    folded = fold_text(term.value)
    should: list[dict[str, Any]] = [
        {"multi_match": {"query": term.value, "fields": list(fields), "type": kind, "operator": "and"}}
    ]
    if folded.strip():
        should.append(
            {"multi_match": {"query": folded, "fields": _folded_fields(fields), "type": kind, "operator": "and"}}
        )
    if not term.phrase and term.field is None and (substance := _substance_words().get(folded)):
        should.append({"term": {"classification.substances": {"value": substance, "boost": 0.5}}})
    return should[0] if len(should) == 1 else {"bool": {"should": should, "minimum_should_match": 1}}


Platforms = dict[str, tuple[str, ...]]  # casefolded key/name/alias -> every spelling (vocabulary.platform_table)


def read_value(name: str, value: str, platforms: Platforms | None = None) -> Match:
    """What `name:value` looks for, read through the field's row of `vocabulary.NORMALISERS`."""
    if name == "platform":
        return platform_match(value, platforms or {})
    normalise = NORMALISERS.get(name)
    return normalise(value) if normalise else Match(values=(value,))


def _match_clause(fields: tuple[str, ...], match: Match) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [
        {"term": {f: {"value": v, "case_insensitive": True}}} for f in fields for v in dict.fromkeys(match.values)
    ]
    clauses += [{"prefix": {f: {"value": v, "case_insensitive": True}}} for f in fields for v in match.prefixes]
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _keyword_clause(term: Term, fields: tuple[str, ...], platforms: Platforms | None) -> dict[str, Any]:
    match = read_value(term.field or "", term.value, platforms)
    if term.field == "triage" and match.values == ("untriaged",):
        return {"bool": {"must_not": {"exists": {"field": "triage.status"}}}}
    return _match_clause(fields, match)


def term_clause(term: Term, platforms: Platforms | None = None) -> dict[str, Any]:
    if term.field is None:
        return _text_clause(term, TEXT_FIELDS)
    kind, fields = FIELDS[term.field]
    if kind == "text":
        return _text_clause(term, fields)
    if kind == "number":
        return _range(fields[0], term.field, term.value)
    return _keyword_clause(term, fields, platforms)


def _day_range(field_name: str, start: date | None, end: date | None) -> dict[str, Any] | None:
    if start is None and end is None:
        return None
    bounds: dict[str, str] = {}
    if start is not None:
        bounds["gte"] = datetime.combine(start, time.min).isoformat() + "Z"
    if end is not None:
        bounds["lt"] = datetime.combine(end + timedelta(days=1), time.min).isoformat() + "Z"
    return {"range": {field_name: bounds}}


def _exists_any(fields: list[str], wanted: bool) -> dict[str, Any]:
    anyof = {"bool": {"should": [{"exists": {"field": f}} for f in fields], "minimum_should_match": 1}}
    return anyof if wanted else {"bool": {"must_not": anyof}}


def _filters(p: SearchParams, platforms: Platforms | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, es_field in (
        ("scope", "classification.scope"),
        ("language", "language"),
        ("takedown", "takedown.status"),
    ):
        if values := getattr(p, name):
            out.append({"terms": {es_field: values}})
    # Facet links send the stored value; a hand-written URL may use any spelling the box accepts.
    for name, es_field in (("site", "site"), ("platform", "platform"), ("substance", "classification.substances")):
        if values := getattr(p, name):
            matches = [_match_clause((es_field,), read_value(name, v, platforms)) for v in values]
            out.append(matches[0] if len(matches) == 1 else {"bool": {"should": matches, "minimum_should_match": 1}})
    if p.triage:
        wanted = [TRIAGE_SPELLINGS.get(t.lower(), t) for t in p.triage]
        should: list[dict[str, Any]] = [{"terms": {"triage.status": [t for t in wanted if t != "untriaged"]}}]
        if "untriaged" in wanted:
            should.append({"bool": {"must_not": {"exists": {"field": "triage.status"}}}})
        out.append({"bool": {"should": should, "minimum_should_match": 1}})
    if p.score_min is not None or p.score_max is not None:
        bounds = {k: v for k, v in (("gte", p.score_min), ("lte", p.score_max)) if v is not None}
        out.append({"range": {"classification.score": bounds}})
    for clause in (
        _day_range("first_seen", p.first_seen_from, p.first_seen_to),
        _day_range("last_seen", p.last_seen_from, p.last_seen_to),
    ):
        if clause:
            out.append(clause)
    if p.has_contact is not None:
        out.append(_exists_any([f"contacts.{c}" for c in CONTACT_FIELDS], p.has_contact))
    if p.has_crypto is not None:
        out.append(_exists_any(["crypto.address"], p.has_crypto))
    if p.flagged is not None:
        out.append({"term": {"classification.flagged": p.flagged}})
    return out


def build_query(
    p: SearchParams, extra_filters: list[dict[str, Any]] | None = None, platforms: Platforms | None = None
) -> dict[str, Any]:
    """The bool query for the box and the filters (no sorting, paging or aggregations)."""
    must, must_not = [], []
    for term in parse_query(p.q):
        (must_not if term.negated else must).append(term_clause(term, platforms))
    query: dict[str, Any] = {"bool": {"filter": _filters(p, platforms) + (extra_filters or [])}}
    if must:
        query["bool"]["must"] = must
    if must_not:
        query["bool"]["must_not"] = must_not
    if not must:
        query["bool"]["must"] = [{"match_all": {}}]
    return query


def query_warnings(p: SearchParams) -> list[str]:
    """Sentences about the query box the search could not read as meant (shown by the page and the API)."""
    unknown: list[str] = []
    parse_query(p.q, unknown)
    known = ", ".join(f"{f}:" for f in FIELDS)
    return [f"{name}: is not a search field, so {name}:… was searched as text; fields are {known}" for name in unknown]


def _sort_of(p: SearchParams) -> list[dict[str, Any] | str]:
    return [*SORTS[p.sort], TIEBREAK]


def search_key(p: SearchParams) -> str:
    """The identity a cursor is bound to: every parameter but the cursor and the page size."""
    return hashlib.sha256(p.query_string(size=None).encode()).hexdigest()


@dataclass
class SearchResult:
    total: int
    total_exact: bool
    hits: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    next: str | None
    took_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def request_body(
    p: SearchParams,
    after: list[Any] | None = None,
    pit: str | None = None,
    facets: bool = True,
    platforms: Platforms | None = None,
) -> dict[str, Any]:
    """The search request for one page (what `search` sends; the benchmark sends it straight to the node)."""
    body: dict[str, Any] = {
        "query": build_query(p, platforms=platforms),
        "sort": _sort_of(p),
        "size": p.size + 1,  # one more than shown tells whether a next page exists
        "track_total_hits": True,
        "_source": {"includes": LIST_SOURCE},
        "highlight": {
            "pre_tags": [HL_START],
            "post_tags": [HL_END],
            "require_field_match": False,
            "fields": {
                "title": {"number_of_fragments": 0},
                "seller.name": {"number_of_fragments": 0},
                "description": {"fragment_size": 160, "number_of_fragments": 2, "no_match_size": 200},
            },
        },
    }
    if facets and after is None:
        body["aggs"] = FACETS
    if after is not None:
        body["search_after"] = after
    if pit is not None:
        body["pit"] = {"id": pit, "keep_alive": PIT_KEEP_ALIVE}
    return body


# Only what `search` reads from a reply: Elasticsearch then neither sends nor the client parses the rest.
FILTER_PATH = [
    "took",
    "responses.took",
    "hits.total",
    "responses.hits.total",
    "hits.hits._id",
    "responses.hits.hits._id",
    "hits.hits._source",
    "responses.hits.hits._source",
    "hits.hits.highlight",
    "responses.hits.hits.highlight",
    "hits.hits.sort",
    "responses.hits.hits.sort",
    "aggregations",
    "responses.aggregations",
    "pit_id",
    "responses.error",
    "responses.status",
]


def first_page_searches(p: SearchParams, platforms: Platforms | None = None) -> list[dict[str, Any]]:
    """The `_msearch` body of a first page: header and body of the hits search, then of the facets search."""
    hits = request_body(p, facets=False, platforms=platforms)
    hits["track_total_hits"] = False
    facets = {"query": hits["query"], "size": 0, "track_total_hits": True, "aggs": FACETS}
    return [{}, hits, {}, facets]


def _facets(aggs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name, agg in aggs.items():
        if name == "has":
            out[name] = [{"key": k, "count": v["doc_count"]} for k, v in agg["buckets"].items()]
        elif name == "score":
            out[name] = [{"key": round(b["key"], 2), "count": b["doc_count"]} for b in agg["buckets"]]
        else:
            out[name] = [{"key": b["key"], "count": b["doc_count"]} for b in agg["buckets"]]
    return out


def _hit(raw: dict[str, Any]) -> dict[str, Any]:
    src = raw["_source"]
    verdict = src.get("classification") or {}
    return {
        "id": raw["_id"],
        "url": src.get("url"),
        "title": src.get("title"),
        "site": src.get("site"),
        "platform": src.get("platform"),
        "source": src.get("source"),
        "price": src.get("price"),
        "currency": src.get("currency"),
        "language": src.get("language"),
        "seller": (src.get("seller") or {}).get("name"),
        "score": verdict.get("score"),
        "flagged": verdict.get("flagged"),
        "substances": verdict.get("substances") or [],
        "scope": verdict.get("scope"),
        "model_version": verdict.get("model_version"),
        "first_seen": src.get("first_seen"),
        "last_seen": src.get("last_seen"),
        "triage": src.get("triage"),
        "takedown": (src.get("takedown") or {}).get("status"),
        "highlight": raw.get("highlight") or {},
    }


def _raise_msearch_error(reply: dict[str, Any], meta: ApiResponseMeta) -> None:
    """Raise for a failed search inside an `_msearch` as `client.search` would have (NotFoundError...)."""
    error = reply.get("error")
    if error is not None:
        status = int(reply.get("status", 500))
        reason = error.get("type", "error") if isinstance(error, dict) else str(error)
        error_class = HTTP_EXCEPTIONS.get(status, ApiError)
        raise error_class(message=reason, meta=dataclasses.replace(meta, status=status), body=reply)


def _decode(settings: Settings, p: SearchParams, cursor: str) -> tuple[list[Any], str | None]:
    try:
        return cursors.decode_cursor(cursors.cursor_key(settings), search_key(p), cursor, len(_sort_of(p)))
    except cursors.CursorError as err:
        raise SearchError(str(err)) from None


def search(client: Elasticsearch, settings: Settings, p: SearchParams) -> SearchResult:
    """One page of results with facets (first page only), highlights and the cursor of the next page."""
    platforms = platform_table(settings.takedown.platforms_file)
    after, pit = _decode(settings, p, p.cursor) if p.cursor else (None, None)
    if after is None:
        answer = client.msearch(
            index=listings_alias(settings), searches=first_page_searches(p, platforms), filter_path=FILTER_PATH
        )
        replies = answer["responses"]
        for reply in replies:
            _raise_msearch_error(reply, answer.meta)
        response, totals = replies[0], replies[1]
        total = totals["hits"]["total"]
        aggregations = totals.get("aggregations") or {}
        took = max(int(response.get("took", 0)), int(totals.get("took", 0)))
    else:
        if pit is None:
            pit = client.open_point_in_time(index=listings_alias(settings), keep_alive=PIT_KEEP_ALIVE)["id"]
        try:
            response = client.search(body=request_body(p, after, pit, platforms=platforms), filter_path=FILTER_PATH)
        except NotFoundError:
            raise SearchError("This page's cursor has expired; start the search again from the first page.") from None
        except ApiError as err:
            if err.status_code == 400:  # search_after values of the wrong type for the sort
                raise SearchError(
                    "The page cursor does not fit this search; start again from the first page."
                ) from None
            raise
        total = response["hits"]["total"]
        aggregations = {}
        took = int(response.get("took", 0))
    raw_hits = (response.get("hits") or {}).get("hits") or []  # filter_path drops an empty list
    more = len(raw_hits) > p.size
    raw_hits = raw_hits[: p.size]
    next_pit = response.get("pit_id", pit)
    cursor = None
    if more and raw_hits:
        cursor = cursors.encode_cursor(cursors.cursor_key(settings), search_key(p), raw_hits[-1]["sort"], next_pit)
    elif next_pit is not None:  # the last page: nothing will page on, so free the node's context now
        client.options(ignore_status=404).close_point_in_time(id=next_pit)
    return SearchResult(
        total=total["value"],
        total_exact=total["relation"] == "eq",
        hits=[_hit(h) for h in raw_hits],
        facets=_facets(aggregations),
        next=cursor,
        took_ms=took,
        warnings=query_warnings(p),
    )


def count(
    client: Elasticsearch, settings: Settings, p: SearchParams, extra_filters: list[dict[str, Any]] | None = None
) -> int:
    """How many listings match (saved searches count their new matches with a first_seen filter)."""
    platforms = platform_table(settings.takedown.platforms_file)
    return int(client.count(index=listings_alias(settings), query=build_query(p, extra_filters, platforms))["count"])
