"""The whole timeline per listing and the lags per source/platform: pure figures, then from the real index and store."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from core.store import session_scope
from core.store.models import TriageDecision
from core.store.takedowns import AuditEntry, TakedownItem
from core.store.users import add_user
from index_config.client import get_client
from index_config.loader import load_jsonl
from listingwatch.cli import app
from monitor.timeline import Timeline, cell, lag_rows, listing_timeline
from tests.index_data import as_line, fresh_prefix, listing, write_jsonl

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _t(i: int, platform: str, *, posted: int | None, flagged: int, sent: int | None, removed: int | None) -> Timeline:
    return Timeline(
        listing_id=str(i),
        source="s",
        platform=platform,
        posted=None if posted is None else T0 + posted * H,
        first_seen=T0 + flagged * H,
        flagged=T0 + flagged * H,
        sent=None if sent is None else T0 + sent * H,
        removed=None if removed is None else T0 + removed * H,
    )


def test_lags_per_platform_with_still_live_items_censored() -> None:
    items = [
        _t(1, "a", posted=0, flagged=2, sent=4, removed=5),
        _t(2, "a", posted=0, flagged=4, sent=10, removed=None),
        _t(3, "a", posted=None, flagged=1, sent=3, removed=None),
        _t(4, "b", posted=0, flagged=8, sent=None, removed=None),
    ]
    now = T0 + 100 * H
    a, b = lag_rows(items, "platform", now)
    assert (a.group, a.listings, a.detection_n, a.detection_median_h, a.detection_p90_h) == ("a", 3, 2, 2.0, 4.0)
    assert (a.review_n, a.review_median_h, a.review_p90_h) == (3, 2.0, 6.0)
    # One of three removed (after 1 h), two still live for 90+ h: the median removal time is not reached.
    assert (a.sent, a.removed, a.platform_median_h) == (3, 1, None)
    assert cell(a, "platform_median_h") == "not reached"
    assert (b.sent, b.platform_median_h, cell(b, "platform_median_h")) == (0, None, "-")


def test_listing_steps_are_in_order_with_hours_between() -> None:
    steps = _t(1, "a", posted=0, flagged=2, sent=4, removed=5).steps()
    assert [s["step"] for s in steps] == ["posted", "first_seen", "flagged", "sent", "removed"]
    assert [s["after_h"] for s in steps] == [None, 2.0, 0.0, 2.0, 1.0]


@pytest.fixture
def indexed(es_settings: Settings, tmp_path: Path):
    with fresh_prefix(es_settings, tmp_path) as settings:
        unflagged = {"score": 0.1, "flagged": False, "threshold": 0.5, "model_version": "t"}
        first = listing(1, T0 + 2 * H, posted_at=T0, classification=unflagged)
        later = listing(1, T0 + 5 * H, posted_at=T0)  # the same listing, flagged on its second fetch
        load_jsonl(write_jsonl(tmp_path / "a.jsonl", [as_line(first)]), settings)
        load_jsonl(write_jsonl(tmp_path / "b.jsonl", [as_line(later), as_line(listing(2, T0 + 3 * H))]), settings)
        get_client(settings).indices.refresh(index="*")
        with session_scope(settings) as db:
            ana = add_user(db, "ana", "liaison", "a long enough password")
            db.add(TriageDecision(listing_id=first.id, decision="confirmed", user=ana, decided_at=T0 + 6 * H))
            item = TakedownItem(
                listing_id=first.id,
                url=first.url,
                platform="example",
                status="removed",
                reported_at=T0 + 8 * H,
                removed_at=T0 + 20 * H,
            )
            db.add(item)
            db.flush()
            db.add(AuditEntry(item=item, at=T0 + 20 * H, actor="check", from_status="reported", to_status="removed"))
            db.add(AuditEntry(item=item, at=T0 + 30 * H, actor="check", from_status="removed", to_status="reinstated"))
        yield settings, first.id


def test_timeline_of_a_listing_from_the_index_and_the_store(indexed) -> None:
    settings, listing_id = indexed
    with session_scope(settings) as db:
        t = listing_timeline(get_client(settings), settings, db, listing_id)
    assert t is not None
    assert [(s["step"], s["at"]) for s in t.steps()] == [
        ("posted", T0),
        ("first_seen", T0 + 2 * H),
        ("flagged", T0 + 5 * H),
        ("confirmed", T0 + 6 * H),
        ("sent", T0 + 8 * H),
        ("first_response", T0 + 20 * H),
        ("removed", T0 + 20 * H),
        ("reinstated", T0 + 30 * H),
    ]


def test_report_timeline_cli(indexed, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    settings, _ = indexed
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("LISTINGWATCH_ES__PORT", str(settings.es.port))
    monkeypatch.setenv("LISTINGWATCH_ES__INDEX_PREFIX", settings.es.index_prefix)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["report", "timeline", "--format", "json", "--by", "platform"])
        assert out.exit_code == 0, out.output
        (row,) = json.loads(out.output)
        assert (row["listings"], row["detection_median_h"], row["review_median_h"]) == (2, 5.0, 3.0)
        assert (row["sent"], row["removed"], row["platform_median_h"]) == (1, 1, 12.0)
        table = CliRunner().invoke(app, ["report", "timeline"])
        assert table.exit_code == 0 and "market" in table.output
        bad = CliRunner().invoke(app, ["report", "timeline", "--format", "xml", "--by", "site"])
        assert bad.exit_code != 0 and "--by" in str(bad.exception) and "--format" in str(bad.exception)
    finally:
        get_settings.cache_clear()
