"""The adaptive crawl schedule: the interval the run history sets, and whether a wake-up crawls."""

from datetime import UTC, datetime, timedelta

from monitor.schedule import RunFacts, decide, interval_after

H = timedelta(hours=1)
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _runs(*new_flagged: int | None) -> list[RunFacts]:
    """One run per hour; None is a failed run."""
    return [RunFacts(T0 + i * H, n is not None, n or 0) for i, n in enumerate(new_flagged)]


def test_quiet_runs_back_off_to_the_maximum_and_activity_brings_it_back() -> None:
    assert interval_after([], H, 24 * H)[0] == H
    assert interval_after(_runs(0), H, 24 * H)[0] == 2 * H
    assert interval_after(_runs(0, 0, 0, 0, 0, 0, 0), H, 24 * H)[0] == 24 * H
    busy, reason = interval_after(_runs(0, 0, 0, 3), H, 24 * H)
    assert busy == 4 * H and "3 new flagged" in reason
    assert interval_after(_runs(2, 2, 2), H, 24 * H)[0] == H


def test_a_failed_run_keeps_the_interval_and_the_next_wake_up_retries() -> None:
    assert interval_after(_runs(0, None), H, 24 * H)[0] == 2 * H
    decision = decide(_runs(0, None), H, 24 * H, T0 + timedelta(hours=1, minutes=1))
    assert decision.due and "failed" in decision.reason


def test_a_wake_up_before_the_interval_is_over_skips_and_says_when() -> None:
    history = _runs(0, 0)  # interval 4 h after the run that ended at T0 + 1 h
    early = decide(history, H, 24 * H, T0 + 2 * H)
    assert not early.due and early.next_at == T0 + 5 * H
    assert "skip; next crawl at" in early.describe("classifieds")
    assert decide(history, H, 24 * H, T0 + 5 * H - timedelta(minutes=5)).due  # a little early still counts


def test_sources_without_bounds_are_not_adaptive() -> None:
    from crawlers.sources import SourceConfig
    from listingwatch.orchestration.dag_factory import source_schedule

    base = {
        "name": "x",
        "platform": "p",
        "start_urls": ["http://127.0.0.1:1/"],
        "allowed_domains": ["127.0.0.1"],
        "links": {"listings": {"allow": ["/item/"]}},
    }
    assert source_schedule(SourceConfig(**base, schedule="@hourly")) == "@hourly"
    assert source_schedule(SourceConfig(**base, schedule_min="30m", schedule_max="2d")) == timedelta(minutes=30)
    assert source_schedule(SourceConfig(**base, enabled=False, schedule_min="1h", schedule_max="1d")) is None


def test_the_sources_page_text_says_the_interval_now_and_why(tmp_path) -> None:
    from core.settings import load_settings
    from core.store import session_scope
    from core.store.alerts import SourceRunOutcome
    from crawlers.sources import find_source
    from monitor.schedule import schedule_text

    settings = load_settings(var_dir=tmp_path)
    classifieds = find_source(settings.crawl.sources_dir, "classifieds")  # the shipped adaptive source
    shop = find_source(settings.crawl.sources_dir, "shop")
    with session_scope(settings) as db:
        db.add(SourceRunOutcome(source="classifieds", run_key="r1", finished_at=T0, ok=True, listings=5))
    with session_scope(settings) as db:
        text = schedule_text(db, classifieds, T0 + H)
        assert text.startswith("adaptive 1h..1d") and "every 2h" in text and "next crawl" in text
        assert schedule_text(db, shop, T0) == "@daily"


def test_schedule_bounds_survive_the_round_trip_to_the_crawl_subprocess() -> None:
    """The crawl job carries the source as JSON, where durations are ISO 8601 ("PT1H")."""
    from core.settings import get_settings
    from crawlers.sources import SourceConfig, find_source

    source = find_source(get_settings().crawl.sources_dir, "classifieds")
    again = SourceConfig.model_validate_json(source.model_dump_json())
    assert (again.schedule_min, again.schedule_max) == (H, 24 * H)
