"""The stored documents: every field the models store is mapped, and the loader's bodies are those models."""

import json
import types
import typing
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from core.schema import Listing, Takedown
from index_config.documents import Observation, StoredListing, listing_bodies, observation_body
from index_config.templates import render
from tests.index_data import T0, listing

FAMILIES = [("listings", StoredListing), ("observations", Observation)]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field holds, through Optional, list and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def stored_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of every leaf field the model writes into its JSON document."""
    paths = set()
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        nested = _models_in(info.annotation)
        if nested:
            for sub in nested:
                paths |= stored_paths(sub, path + ".")
        else:
            paths.add(path)
    return paths


def mapped(properties: dict[str, Any], path: str) -> bool:
    """Whether `path` is indexed, or deliberately kept unindexed (`enabled: false`, `flattened`), by the mapping."""
    head, _, rest = path.partition(".")
    field = properties.get(head)
    if field is None:
        return False
    if field.get("enabled") is False or field.get("type") == "flattened":
        return True
    if not rest:
        return "type" in field
    return mapped(field.get("properties", {}), rest)


@pytest.mark.parametrize(("family", "model"), FAMILIES)
def test_the_mapping_covers_every_field_the_model_stores(family: str, model: type[BaseModel]) -> None:
    mappings = render("test").components[f"test-{family}-mappings"]["template"]["mappings"]
    assert mappings["dynamic"] is False  # so an unmapped field would be silently unsearchable
    unmapped = sorted(p for p in stored_paths(model) if not mapped(mappings["properties"], p))
    assert unmapped == []


def test_the_coverage_check_notices_a_missing_field() -> None:
    properties = {"seller": {"properties": {"name": {"type": "text"}}}, "extraction": {"enabled": False}}
    assert mapped(properties, "seller.name") and mapped(properties, "extraction")
    assert not mapped(properties, "seller.profile_url") and not mapped(properties, "price")


def _expected_stored(item: Listing) -> StoredListing:
    return StoredListing.model_validate(
        {**item.model_dump(), "id": item.id, "first_seen": item.fetched_at, "last_seen": item.fetched_at}
    )


@pytest.mark.parametrize("item", [listing(3), listing(4, classification=None)], ids=["classified", "unclassified"])
def test_loader_bodies_are_exactly_the_stored_listing(item: Listing) -> None:
    doc, new = listing_bodies(item)
    created = json.loads(new)
    stored = StoredListing.model_validate_json(new)
    assert stored == _expected_stored(item)
    assert stored.takedown == Takedown(status="none")
    expected_keys = set(_expected_stored(item).model_dump(by_alias=True))
    if item.classification is None:  # an update without a verdict must leave the stored one alone
        expected_keys.discard("classification")
    assert set(created) == expected_keys
    assert set(json.loads(doc)) == expected_keys - {"first_seen", "takedown"}  # re-crawls never reset these


def test_observation_body_is_exactly_the_observation() -> None:
    item = listing(5, T0 + timedelta(days=1))
    body = json.loads(observation_body(item))
    assert set(body) == set(Observation.model_fields)
    observation = Observation.model_validate(body)
    assert (observation.listing_id, observation.fetched_at, observation.score) == (item.id, item.fetched_at, 0.9)
    assert observation.content_sha256 == item.evidence.body_sha256
    assert observation.evidence == item.evidence
