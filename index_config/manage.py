"""Create, migrate and inspect the versioned indices behind the `listings` and `observations` aliases.

Writers only ever see the aliases. A template change is rolled out by `migrate_indices`: it
blocks writes on the old index (loaders spool what they cannot write and replay it later),
copies every document with a point-in-time + `search_after` scan (the integ-test
distribution has no `_reindex`), checks the counts match, and swaps the alias in one atomic
request before deleting the old index.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from core.errors import ListingwatchError
from core.settings import Settings
from index_config import templates
from index_config.client import index_sizing
from index_config.documents import refold
from index_config.queries import count_flagged

COPY_PAGE = 1_000
# What a migration recomputes on the way (derived fields a template change may have added or redefined).
REFRESH: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"listings": refold}
PIT_KEEP_ALIVE = "2m"


def alias_name(settings: Settings, family: str) -> str:
    return f"{settings.es.index_prefix}-{family}"


def listings_alias(settings: Settings) -> str:
    return alias_name(settings, "listings")


def observations_alias(settings: Settings) -> str:
    return alias_name(settings, "observations")


def _versioned(settings: Settings, family: str, version: int) -> str:
    return f"{alias_name(settings, family)}-v{version}"


def _version_of(index: str) -> int:
    match = re.search(r"-v(\d+)$", index)
    return int(match.group(1)) if match else 0


def put_templates(client: Elasticsearch, settings: Settings) -> None:
    """PUT the component and index templates for this prefix (idempotent)."""
    rendered = templates.render(settings.es.index_prefix)
    for name, body in rendered.components.items():
        client.cluster.put_component_template(name=name, **body)
    for name, body in rendered.index_templates.items():
        sizing = index_sizing(settings, name.removeprefix(f"{settings.es.index_prefix}-"))
        # Sizing is deployment, not schema: it overrides the shared component and stays out of the fingerprint.
        body.setdefault("template", {})["settings"] = {
            "index": {"number_of_shards": sizing.shards, "number_of_replicas": sizing.replicas}
        }
        client.indices.put_index_template(name=name, **body)


def write_index(client: Elasticsearch, alias: str) -> str | None:
    """The concrete index the alias writes to, or None when the alias does not exist."""
    try:
        aliases = client.indices.get_alias(name=alias).body
    except NotFoundError:
        return None
    indices = sorted(aliases)
    for index in indices:
        if aliases[index]["aliases"][alias].get("is_write_index"):
            return index
    return indices[-1] if len(indices) == 1 else None


def _fingerprint_of(client: Elasticsearch, index: str) -> str | None:
    mapping = client.indices.get_mapping(index=index).body[index]["mappings"]
    fp: str | None = mapping.get("_meta", {}).get("fingerprint")
    return fp


def _next_free_version(client: Elasticsearch, settings: Settings, family: str, after: int) -> int:
    version = after + 1
    while client.indices.exists(index=_versioned(settings, family, version)):
        version += 1
    return version


def init_indices(client: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    """Install templates and create `<prefix>-<family>-v1` behind each write alias if the alias is missing."""
    put_templates(client, settings)
    report: dict[str, dict[str, Any]] = {}
    for family in templates.FAMILIES:
        alias = alias_name(settings, family)
        index = write_index(client, alias)
        created = index is None
        if index is None:
            index = _versioned(settings, family, _next_free_version(client, settings, family, 0))
            client.indices.create(index=index, aliases={alias: {"is_write_index": True}})
        else:  # replicas can change live (shards only with the next index version: `index migrate`)
            replicas = index_sizing(settings, family).replicas
            client.indices.put_settings(index=index, settings={"index": {"number_of_replicas": replicas}})
        report[family] = {
            "alias": alias,
            "index": index,
            "created": created,
            "needs_migration": _fingerprint_of(client, index) != templates.fingerprint(family),
        }
    return report


def _scan(client: Elasticsearch, index: str) -> Iterator[dict[str, Any]]:
    """Every document of `index` via a point in time, in `_shard_doc` order (no 10k window limit)."""
    pit = client.open_point_in_time(index=index, keep_alive=PIT_KEEP_ALIVE).body["id"]
    try:
        search_after: list[Any] | None = None
        while True:
            resp = client.search(
                pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                sort=["_shard_doc"],
                size=COPY_PAGE,
                search_after=search_after,
                track_total_hits=False,
            ).body
            pit = resp.get("pit_id", pit)
            hits = resp["hits"]["hits"]
            if not hits:
                return
            yield from hits
            search_after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit)


def copy_index(
    client: Elasticsearch,
    source: str,
    dest: str,
    progress: Callable[[int], None] | None = None,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> int:
    """Copy every document (same `_id`, `_source` as is or through `transform`) from source to dest."""
    copied = 0
    actions = (
        {
            "_op_type": "index",
            "_index": dest,
            "_id": h["_id"],
            "_source": transform(h["_source"]) if transform else h["_source"],
        }
        for h in _scan(client, source)
    )
    for ok, item in helpers.streaming_bulk(client, actions, chunk_size=COPY_PAGE, max_retries=3, raise_on_error=False):
        if not ok:
            reason = next(iter(item.values())).get("error")
            raise ListingwatchError(
                f"Copying {source} to {dest} failed on a document ({reason}); the alias was not moved."
            )
        copied += 1
        if progress:
            progress(1)
    return copied


def _migrate_family(
    client: Elasticsearch, settings: Settings, family: str, progress: Callable[[int], None] | None
) -> dict[str, Any]:
    alias = alias_name(settings, family)
    old = write_index(client, alias)
    wanted = templates.fingerprint(family)
    if old is None:
        raise ListingwatchError(f"Alias {alias} does not exist; run `listingwatch index init` first.")
    if _fingerprint_of(client, old) == wanted:
        return {"alias": alias, "index": old, "migrated": False}
    new = _versioned(settings, family, _next_free_version(client, settings, family, _version_of(old)))
    client.indices.create(index=new)
    client.indices.add_block(index=old, block="write")
    try:
        # The copy reads a point in time, which sees only refreshed documents: refresh after the
        # block so the last writes before it are copied too.
        client.indices.refresh(index=old)
        copied = copy_index(client, old, new, progress, REFRESH.get(family))
        client.indices.refresh(index=new)
        before, after = client.count(index=old)["count"], client.count(index=new)["count"]
        if before != after:
            raise ListingwatchError(
                f"Migration of {alias} copied {after} of {before} documents; the alias still points at {old}."
            )
        client.indices.update_aliases(
            actions=[
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias, "is_write_index": True}},
            ]
        )
    except BaseException:
        client.indices.put_settings(index=old, settings={"index.blocks.write": False})
        client.indices.delete(index=new, ignore_unavailable=True)
        raise
    client.indices.delete(index=old)
    return {"alias": alias, "from": old, "index": new, "migrated": True, "documents": copied}


def migrate_indices(
    client: Elasticsearch, settings: Settings, progress: Callable[[int], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Move each alias to a fresh index built from the current templates when its fingerprint differs."""
    init_indices(client, settings)
    return {family: _migrate_family(client, settings, family, progress) for family in templates.FAMILIES}


def index_stats(client: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    """Per family: alias, write index, document count, store size and whether a migration is pending."""
    report: dict[str, dict[str, Any]] = {}
    for family in templates.FAMILIES:
        alias = alias_name(settings, family)
        index = write_index(client, alias)
        if index is None:
            report[family] = {"alias": alias, "index": None}
            continue
        stats = client.indices.stats(index=index, metric=["docs", "store"]).body["indices"][index]["primaries"]
        report[family] = {
            "alias": alias,
            "index": index,
            "documents": stats["docs"]["count"],
            "size_bytes": stats["store"]["size_in_bytes"],
            "needs_migration": _fingerprint_of(client, index) != templates.fingerprint(family),
        }
    if report["listings"].get("index"):
        report["listings"]["flagged"] = count_flagged(client, listings_alias(settings))
    return report


def delete_indices(client: Elasticsearch, settings: Settings) -> None:
    """Remove every index and template of this prefix (test teardown, `index drop`)."""
    prefix = settings.es.index_prefix
    quiet = client.options(ignore_status=404)
    for family in templates.FAMILIES:
        # The node requires explicit names for deletes, so resolve the pattern first.
        names = list(client.indices.get(index=f"{prefix}-{family}-v*", allow_no_indices=True).body)
        if names:
            client.indices.delete(index=names)
        quiet.indices.delete_index_template(name=f"{prefix}-{family}")
        quiet.cluster.delete_component_template(name=f"{prefix}-{family}-mappings")
    quiet.cluster.delete_component_template(name=f"{prefix}-settings")
    # The web app's seller clusters (index_config.sellers) live beside the families, rebuilt per run.
    sellers = list(client.indices.get(index=f"{prefix}-sellers-*", allow_no_indices=True).body)
    if sellers:
        client.indices.delete(index=sellers)
