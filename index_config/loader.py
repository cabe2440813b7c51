"""Deliver `Listing` records to Elasticsearch without losing or duplicating any.

What is stored (`StoredListing`, `Observation`) is defined in `index_config.documents`;
this module is delivery only: bulk requests, batches in flight, and the spool.

Per batch the loader first asks which listing IDs the index already holds (one real-time
`mget` without sources), then sends two bulk actions per record:

* for a listing not seen before, a `create` of the full document (first_seen = last_seen =
  fetch time, takedown "none"): as cheap for the node as a plain index request. For a known
  listing, an `update` with a partial ``doc`` that never contains first_seen or takedown, so
  those survive every re-crawl. A create that meets an existing document (the same listing
  twice in one batch, or another writer in between) is retried as an update with ``upsert``.
  None of this needs painless (absent from the integ-test distribution). A record without a
  classification leaves the stored one alone.
* a `create` of an observation whose ``_id`` hashes (listing id, fetched_at, body sha256):
  loading the same fetch twice answers 409, counted as a duplicate, never a second document.

Both are idempotent, which is what makes spooling safe: when the node cannot be reached
(connection refused, 5xx after bounded retries, a write block during migration) the
unacknowledged records go to the on-disk spool, and a later replay may resend records that
had in fact arrived without creating anything twice.
"""

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers
from pydantic import ValidationError

from core import jsonl
from core.errors import ListingwatchError, ServiceUnavailable
from core.schema import Listing
from core.settings import Settings
from index_config import spool
from index_config.client import get_client
from index_config.documents import listing_bodies, observation_body, observation_id
from index_config.manage import init_indices, listings_alias, observations_alias

MAX_LINE_BYTES = jsonl.MAX_LINE_BYTES
MAX_CHUNK_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 1_000
IN_FLIGHT = 2  # bulk requests the node works on at once: one per core of a small machine
RETRY_STATUSES = (429, 502, 503, 504)
# Item errors that mean "not now" rather than "never": such records are spooled, not dropped.
TRANSIENT_ERRORS = frozenset(
    {"cluster_block_exception", "es_rejected_execution_exception", "unavailable_shards_exception"}
)

Record = tuple[int | None, Listing]
Progress = Callable[[int], None]


@dataclass
class DocumentError:
    """Why one input line or document did not make it in."""

    reason: str
    line: int | None = None
    id: str | None = None
    url: str | None = None
    status: int | None = None


@dataclass
class LoadReport:
    """Counts per load; `errors` keeps the first MAX_ERRORS_KEPT problems with line numbers."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    observations: int = 0
    duplicate_observations: int = 0
    failed: int = 0
    spooled: int = 0
    skipped_lines: int = 0
    quarantined: int = 0
    unavailable: bool = False
    errors: list[DocumentError] = field(default_factory=list)
    replay: "LoadReport | None" = None

    def note(self, error: DocumentError) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)

    def merge(self, part: "LoadReport") -> None:
        """Add a batch's write outcomes (not its reading counts) to this report."""
        for name in ("created", "updated", "unchanged", "observations", "duplicate_observations", "failed"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for error in part.errors:
            self.note(error)


class _Unavailable(Exception):
    """The node could not take a batch; the caller spools it and everything after it."""


def _as_is(action: tuple[dict[str, Any], Any]) -> tuple[dict[str, Any], Any]:
    return action


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def _error_reason(info: dict[str, Any]) -> tuple[str, str]:
    error = info.get("error")
    if isinstance(error, dict):
        return error.get("type", "error"), f"{error.get('type')}: {error.get('reason')}"
    return "error", str(error)


@contextmanager
def _node_errors(settings: Settings, what: str) -> Iterator[None]:
    """Turn the client's errors into "try later" (`_Unavailable`, so records spool) or one plain sentence."""
    try:
        yield
    except ApiError as err:
        if err.status_code in RETRY_STATUSES:
            raise _Unavailable from err
        if err.status_code in (401, 403):
            raise ServiceUnavailable(
                f"Elasticsearch at {settings.es.shown_endpoint} refused the credentials ({err.status_code}); "
                "check LISTINGWATCH_ES__USERNAME/PASSWORD/API_KEY."
            ) from None
        raise ListingwatchError(f"Elasticsearch rejected {what}: {err.message}.") from None
    except TransportError as err:
        raise _Unavailable from err


def _existing(client: Elasticsearch, index: str, ids: list[str]) -> dict[str, datetime | None]:
    """Listing IDs the index already holds, with their last_seen (a real-time lookup by ID)."""
    docs = client.mget(index=index, ids=ids, source_includes=["last_seen"]).body["docs"]
    found: dict[str, datetime | None] = {}
    for d in docs:
        if d.get("found"):
            seen = (d.get("_source") or {}).get("last_seen")
            when = datetime.fromisoformat(seen) if isinstance(seen, str) else None
            found[d["_id"]] = when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when
    return found


def _send(
    client: Elasticsearch,
    settings: Settings,
    actions: list[tuple[dict[str, Any], Any]],
    owners: dict[str, list[int]],
    observation_ids: set[str],
    batch: list[Record],
    report: LoadReport,
) -> tuple[set[int], set[int], list[int]]:
    """One bulk exchange; returns (transient, failed, conflicts) as positions in `batch`.

    `owners` maps each document ID to the batch positions of its actions, in action order
    (results come back in that order). `conflicts` are new-listing creates that met an
    existing document (the same listing twice in one batch, or another writer in between):
    the caller retries them as updates.
    """
    transient: set[int] = set()
    failed: set[int] = set()
    conflicts: list[int] = []
    answered: Counter[str] = Counter()
    with _node_errors(settings, "a bulk request"):
        for ok, item in helpers.streaming_bulk(
            client,
            actions,
            expand_action_callback=_as_is,
            chunk_size=len(actions),
            max_chunk_bytes=MAX_CHUNK_BYTES,
            max_retries=settings.es.bulk_max_retries,
            initial_backoff=0.5,
            max_backoff=10.0,
            retry_on_status=RETRY_STATUSES,
            raise_on_error=False,
        ):
            op, info = next(iter(item.items()))
            doc_id = info["_id"]
            position = owners[doc_id][min(answered[doc_id], len(owners[doc_id]) - 1)]
            answered[doc_id] += 1
            is_observation = doc_id in observation_ids
            if ok:
                if is_observation:
                    report.observations += 1
                else:
                    result = info.get("result")
                    report.created += result == "created"
                    report.updated += result == "updated"
                    report.unchanged += result == "noop"
                continue
            kind, reason = _error_reason(info)
            status = info.get("status")
            if is_observation and status == 409:
                report.duplicate_observations += 1
            elif not is_observation and op == "create" and status == 409:
                conflicts.append(position)
            elif kind in TRANSIENT_ERRORS or status in RETRY_STATUSES:
                transient.add(position)
            else:
                failed.add(position)
                line, listing = batch[position]
                report.note(
                    DocumentError(
                        reason=f"{op} rejected: {reason}"[:500],
                        line=line,
                        id=listing.id,
                        url=listing.url,
                        status=status,
                    )
                )
    return transient, failed, conflicts


@dataclass(frozen=True)
class _Prepared:
    """One record's IDs and JSON bodies, each computed once per batch."""

    listing_id: str
    observation_id: str
    doc: str
    new: str
    observation: bytes


def _prepare(batch: list[Record]) -> list[_Prepared]:
    out = []
    for _, listing in batch:
        doc, new = listing_bodies(listing)
        out.append(_Prepared(listing.id, observation_id(listing), doc, new, observation_body(listing)))
    return out


def _update_action(index: str, listing_id: str) -> dict[str, Any]:
    return {"update": {"_index": index, "_id": listing_id, "retry_on_conflict": 3}}


def _write_batch(client: Elasticsearch, settings: Settings, batch: list[Record], report: LoadReport) -> list[Record]:
    """Send one batch; count outcomes into `report`; return the records to spool for later.

    Listings the index does not hold yet are written with `create` (as fast as a plain index
    request); known ones get a partial-document `update`, which keeps first_seen and takedown.
    """
    listings_index, observations_index = listings_alias(settings), observations_alias(settings)
    prepared = _prepare(batch)
    with _node_errors(settings, "a lookup of listing IDs"):
        known = _existing(client, listings_index, list({p.listing_id for p in prepared}))
    actions: list[tuple[dict[str, Any], Any]] = []
    owners: dict[str, list[int]] = {}
    newest = dict(known)  # per listing, the latest capture stored or already in this batch
    for position, p in enumerate(prepared):
        fetched_at = batch[position][1].fetched_at
        latest = newest.get(p.listing_id)
        if latest is not None and fetched_at < latest:
            # An older capture loaded after a newer one: keep its observation, never rewind the listing.
            report.unchanged += 1
        elif p.listing_id in known:
            actions.append((_update_action(listings_index, p.listing_id), f'{{"doc":{p.doc}}}'))
        else:
            actions.append(({"create": {"_index": listings_index, "_id": p.listing_id}}, p.new))
        if latest is None or fetched_at >= latest:
            newest[p.listing_id] = fetched_at
            owners.setdefault(p.listing_id, []).append(position)
        actions.append(({"create": {"_index": observations_index, "_id": p.observation_id}}, p.observation))
        owners.setdefault(p.observation_id, []).append(position)
    observation_ids = {p.observation_id for p in prepared}
    transient, failed, conflicts = _send(client, settings, actions, owners, observation_ids, batch, report)
    if conflicts:
        retry = [
            (_update_action(listings_index, c.listing_id), f'{{"doc":{c.doc},"upsert":{c.new}}}')
            for c in (prepared[p] for p in conflicts)
        ]
        retry_owners: dict[str, list[int]] = {}
        for p in conflicts:
            retry_owners.setdefault(prepared[p].listing_id, []).append(p)
        more_transient, more_failed, _ = _send(client, settings, retry, retry_owners, set(), batch, report)
        transient |= more_transient
        failed |= more_failed
    report.failed += len(failed - transient)
    return [batch[p] for p in sorted(transient - failed)]


def _write_one(client: Elasticsearch, settings: Settings, batch: list[Record]) -> tuple[LoadReport, list[Record]]:
    """One batch on a worker thread, counted into a report of its own (merged by the caller)."""
    part = LoadReport()
    retry = _write_batch(client, settings, batch, part)
    return part, retry


def _ensure_aliases(client: Elasticsearch, settings: Settings) -> None:
    with _node_errors(settings, "setting up the indices"):
        if not client.indices.exists_alias(name=[listings_alias(settings), observations_alias(settings)]):
            init_indices(client, settings)


def _run(
    records: Iterator[Record],
    settings: Settings,
    client: Elasticsearch,
    report: LoadReport,
    sink: Callable[[Iterable[Record]], int],
    progress: Progress | None,
) -> None:
    """Write records batch by batch; whatever cannot be written now goes to `sink`."""
    counted = _counting(records, report)
    if not report.unavailable:
        try:
            _ensure_aliases(client, settings)
        except _Unavailable:
            report.unavailable = True
    if report.unavailable:
        report.spooled += sink(counted)
        return
    later: list[Record] = []
    down: list[list[Record]] = []  # batches the node could not take, in arrival order
    in_flight: deque[tuple[list[Record], set[str], Future[tuple[LoadReport, list[Record]]]]] = deque()

    def settle() -> None:
        batch, _, future = in_flight.popleft()
        try:
            part, retry = future.result()
        except _Unavailable:
            down.append(batch)
            return
        report.merge(part)
        later.extend(retry)
        if progress:
            progress(len(batch))

    # Two batches in flight: the node indexes one per core while the next one is serialised.
    # A batch sharing a listing with one in flight waits for it, so each listing's updates
    # still land in arrival order (last_seen never goes backwards).
    unsent: Iterable[Record] = ()  # once the node is down, the rest is spooled without trying
    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="listingwatch-bulk") as pool:
        for batch in _batches(counted, settings.es.bulk_chunk_size):
            ids = {listing.id for _, listing in batch}
            while in_flight and (len(in_flight) >= IN_FLIGHT or any(ids & other for _, other, _ in in_flight)):
                settle()
            if down:
                unsent = chain(batch, counted)
                break
            in_flight.append((batch, ids, pool.submit(_write_one, client, settings, batch)))
        while in_flight:
            settle()
    if down:
        report.unavailable = True
        report.spooled += sink(chain(later, *down, unsent))
    elif later:
        report.spooled += sink(later)


def _counting(records: Iterable[Record], report: LoadReport) -> Iterator[Record]:
    for record in records:
        report.read += 1
        yield record


def _spool_sink(settings: Settings) -> Callable[[Iterable[Record]], int]:
    return lambda records: spool.append_segment(settings, (listing.model_dump_json() for _, listing in records))


def _coerce(listings: Iterable[Listing | dict[str, Any]], report: LoadReport) -> Iterator[Record]:
    for position, item in enumerate(listings, start=1):
        if isinstance(item, Listing):
            yield None, item
            continue
        try:
            yield None, Listing.model_validate(item)
        except ValidationError as err:
            report.skipped_lines += 1
            report.note(
                DocumentError(reason=f"record {position}: {jsonl.describe_validation_error(err)}", line=position)
            )


def _read_jsonl(path: Path, report: LoadReport) -> Iterator[Record]:
    """Valid listings with their line numbers; bad lines are noted in `report` and skipped."""

    def skip(bad: jsonl.BadLine) -> None:
        report.skipped_lines += 1
        report.note(DocumentError(reason=bad.reason, line=bad.line))

    return jsonl.read_jsonl(path, Listing.model_validate_json, on_bad=skip, max_line_bytes=MAX_LINE_BYTES)


def _read_spooled(segment: Path, bad: list[jsonl.BadLine]) -> Iterator[Record]:
    """The segment's records; lines that cannot be read back go to `bad` (to quarantine, never to drop)."""
    for _number, listing in jsonl.read_jsonl(
        segment, Listing.model_validate_json, on_bad=bad.append, keep_oversize=True
    ):
        yield None, listing


def _quarantine(settings: Settings, segment: Path, bad: list[jsonl.BadLine], report: LoadReport) -> None:
    kept = spool.quarantine(settings, segment, bad)
    report.quarantined += len(bad)
    for b in bad:
        report.note(DocumentError(reason=f"spool segment {segment.name}: {b.reason}; kept in {kept}", line=b.line))


def replay_spool(
    settings: Settings, client: Elasticsearch | None = None, progress: Progress | None = None
) -> LoadReport:
    """Drain the spool oldest segment first; what still cannot be written stays, in order."""
    client = client or get_client(settings)
    report = LoadReport()
    with spool.replay_lock(settings):
        for segment in spool.segments(settings):
            bad: list[jsonl.BadLine] = []
            records = _read_spooled(segment, bad)
            keep: list[Record] = []

            def hold(rest: Iterable[Record], keep: list[Record] = keep) -> int:
                before = len(keep)
                keep.extend(rest)
                return len(keep) - before

            _run(records, settings, client, report, hold, progress)
            if bad:  # kept aside first: a crash in between duplicates them in quarantine, never loses them
                _quarantine(settings, segment, bad, report)
            spool.rewrite_segment(segment, (listing.model_dump_json() for _, listing in keep))
            if report.unavailable:
                break
    return report


def _load(
    records: Iterator[Record],
    settings: Settings,
    client: Elasticsearch | None,
    progress: Progress | None,
    report: LoadReport,
) -> LoadReport:
    client = client or get_client(settings)
    if spool.segments(settings):
        report.replay = replay_spool(settings, client)
        # The node just failed us: straight to the spool, behind the records already there.
        report.unavailable = report.replay.unavailable
    _run(records, settings, client, report, _spool_sink(settings), progress)
    return report


def load_listings(
    listings: Iterable[Listing | dict[str, Any]],
    settings: Settings,
    client: Elasticsearch | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Upsert listings and record one observation each; spool what the node cannot take now.

    The spool is replayed first, so records keep their arrival order across outages.
    """
    report = LoadReport()
    return _load(_coerce(listings, report), settings, client, progress, report)


def load_jsonl(
    path: Path, settings: Settings, client: Elasticsearch | None = None, progress: Progress | None = None
) -> LoadReport:
    """`load_listings` over a JSON-lines file of `Listing`; bad lines are reported by number and skipped."""
    if not path.is_file():
        raise ListingwatchError(f"Input file {path} does not exist; pass a JSON-lines file of listings.")
    report = LoadReport()
    return _load(_read_jsonl(path, report), settings, client, progress, report)
