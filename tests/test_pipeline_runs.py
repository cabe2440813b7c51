"""Pure logic of the pipeline: run keys, the previous run, and what counts as new/changed/gone."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from core.schema import Classification, Listing
from core.settings import load_settings
from listingwatch.runs.changes import diff_listings, fingerprint
from listingwatch.runs.listings_io import read_listings, write_listings
from listingwatch.runs.paths import previous_run, run_key, run_paths


def _listing(path: str, **fields) -> Listing:
    return Listing(url=f"http://127.0.0.1:8700{path}", source="classifieds", platform="p", **fields)


def test_run_keys_sort_chronologically_and_ignore_the_timezone_they_came_in() -> None:
    t = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert run_key(t) == run_key(t.astimezone(timezone(timedelta(hours=-5))))
    assert run_key(t) < run_key(t + timedelta(microseconds=1)) < run_key(t + timedelta(days=1))
    assert run_key(datetime(2026, 11, 23, 6, 0)) == run_key(t)


def test_previous_run_is_the_latest_earlier_run_that_got_as_far_as_classify(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    keys = [run_key(datetime(2026, 11, d, tzinfo=UTC)) for d in (20, 21, 22, 23)]
    for key in keys[:3]:
        run_paths(settings, "classifieds", key).root.mkdir(parents=True)
    write_listings(run_paths(settings, "classifieds", keys[0]).classified, [])
    write_listings(run_paths(settings, "classifieds", keys[1]).classified, [])  # keys[2] crashed before classify
    assert previous_run(settings, "classifieds", keys[3]).key == keys[1]
    assert previous_run(settings, "classifieds", keys[1]).key == keys[0]
    assert previous_run(settings, "classifieds", keys[0]) is None
    assert previous_run(settings, "forum", keys[3]) is None


def test_diff_splits_by_listing_id_and_content_not_by_fetch_time() -> None:
    before = {
        x.id: x
        for x in (
            _listing("/a", title="M30 blues", price=20.0),
            _listing("/b", title="Xanax bars"),
            _listing("/c", title="Old bike"),
        )
    }
    now = [
        _listing("/a?utm_source=x", title="M30 blues", price=20.0, fetched_at=datetime(2030, 1, 1, tzinfo=UTC)),
        _listing("/b", title="Xanax bars", price=5.0),
        _listing("/d", title="Pressed pills"),
        _listing("/d", title="Pressed pills (again)"),
    ]
    changes = diff_listings(before, now)
    assert [x.url.rsplit("/", 1)[1] for x in changes.unchanged] == ["a"]
    assert [x.url.rsplit("/", 1)[1] for x in changes.changed] == ["b"]
    assert [x.title for x in changes.new] == ["Pressed pills (again)"]
    assert changes.gone == [_listing("/c").id]


def test_classification_is_not_content() -> None:
    plain = _listing("/a", title="M30 blues")
    scored = plain.model_copy(
        update={"classification": Classification(score=0.9, flagged=True, threshold=0.5, model_version="v")}
    )
    assert fingerprint(plain) == fingerprint(scored)


def test_listings_round_trip_through_jsonl_atomically(tmp_path: Path) -> None:
    path = tmp_path / "x" / "listings.jsonl"
    items = [_listing("/a", title="<script>alert(1)</script> \u202e"), _listing("/b", description="x" * 10_000)]
    assert write_listings(path, items) == 2
    assert read_listings(path) == items
    assert read_listings(tmp_path / "missing.jsonl") == []
    assert [p.name for p in path.parent.iterdir()] == ["listings.jsonl"]
