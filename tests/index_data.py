"""Listing records for the index tests: realistic enough to exercise every mapped field."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.schema import Listing
from core.settings import Settings
from index_config.client import get_client
from index_config.manage import delete_indices, init_indices

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def listing(i: int, fetched_at: datetime = T0, **fields: object) -> Listing:
    data: dict[str, object] = {
        "url": f"https://market.example/item/{i}?utm_source=feed",
        "source": "market",
        "platform": "Example Market",
        "http_status": 200,
        "fetched_at": fetched_at,
        "title": f"M30 blues pressed pills lot {i}",
        "description": f"Listing {i}: discreet shipping, telegram @plug{i}, BTC only. Ships from Sinaloa to USA.",
        "price": 10.0 + i,
        "currency": "USD",
        "seller": {"name": f"vendor{i % 7}"},
        "contacts": {"telegram": [f"@plug{i}"]},
        "crypto": [{"currency": "BTC", "address": f"bc1q{i:038d}", "valid_checksum": False}],
        "evidence": {"body_sha256": f"{i:064x}", "captured_at": fetched_at, "warc_file": "crawl.warc.gz"},
        "classification": {
            "score": 0.9,
            "flagged": True,
            "threshold": 0.5,
            "substances": ["fentanyl", "counterfeit_pills"],
            "model_version": "test-1",
        },
    }
    data.update(fields)
    return Listing.model_validate(data)


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def as_line(item: Listing) -> str:
    return item.model_dump_json()


def as_dict_line(data: dict[str, object]) -> str:
    return json.dumps(data)


@contextmanager
def fresh_prefix(base: Settings, var_dir: Path) -> Iterator[Settings]:
    """Settings with an index prefix and a spool of their own, indices created and removed afterwards."""
    prefix = f"{base.es.index_prefix}-{uuid.uuid4().hex[:6]}"
    settings = base.model_copy(update={"var_dir": var_dir, "es": base.es.model_copy(update={"index_prefix": prefix})})
    client = get_client(settings)
    init_indices(client, settings)
    try:
        yield settings
    finally:
        delete_indices(get_client(settings), settings)
