"""The relational store on a real SQLite file: migrations, users, tokens, triage history, CLI."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from core.store import get_engine, session_scope
from core.store.triage import (
    TriageError,
    confirmed_listing_ids,
    current_decisions,
    history,
    labelled_examples,
    record_decision,
)
from core.store.users import UserError, add_user, authenticate, create_token, user_for_token
from listingwatch.cli import app
from tests.plugins.web import free_port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(var_dir=tmp_path)


def test_first_use_creates_every_table(settings: Settings) -> None:
    tables = set(inspect(get_engine(settings)).get_table_names())
    assert {"users", "api_tokens", "triage_decisions", "saved_searches", "alembic_version"} <= tables
    assert (settings.var_dir / "listingwatch.db").exists()


def test_passwords_are_hashed_and_checked(settings: Settings) -> None:
    with session_scope(settings) as s:
        user = add_user(s, "ana", "analyst", "correct horse battery")
        assert user.password_hash.startswith("$argon2id$")
    with session_scope(settings) as s:
        assert authenticate(s, "ana", "correct horse battery") is not None
        assert authenticate(s, "ana", "wrong password!!") is None
        assert authenticate(s, "nobody", "correct horse battery") is None


def test_add_user_names_every_problem(settings: Settings) -> None:
    with session_scope(settings) as s, pytest.raises(UserError) as err:
        add_user(s, "bad name!", "boss", "short")
    message = str(err.value)
    assert "name" in message and "role" in message and "password" in message


def test_tokens_are_stored_only_as_hashes(settings: Settings) -> None:
    with session_scope(settings) as s:
        token = create_token(s, add_user(s, "bot", "analyst", "0123456789ab"))
    with session_scope(settings) as s:
        assert user_for_token(s, token).name == "bot"
        assert user_for_token(s, token + "x") is None
    raw = (settings.var_dir / "listingwatch.db").read_bytes()
    assert token.encode() not in raw


def test_triage_history_is_append_only_and_latest_is_current(settings: Settings) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with session_scope(settings) as s:
        user = add_user(s, "ana", "analyst", "0123456789ab")
        record_decision(s, "a", "needs_review", user, at=t0)
        record_decision(s, "a", "confirmed", user, note="M30 photo", at=t0 + timedelta(hours=1))
        record_decision(s, "b", "confirmed", user, at=t0)
        record_decision(s, "b", "false_positive", user, at=t0 + timedelta(hours=1))
        with pytest.raises(TriageError):
            record_decision(s, "c", "maybe", user)
    with session_scope(settings) as s:
        assert [d.decision for d in history(s, "a")] == ["confirmed", "needs_review"]
        current = current_decisions(s)
        assert current["a"].decision == "confirmed" and current["a"].note == "M30 photo"
        assert current["a"].at == t0 + timedelta(hours=1) and current["a"].at.tzinfo is not None
        assert current["b"].decision == "false_positive"
        assert confirmed_listing_ids(s) == ["a"]
        assert set(current_decisions(s, ["b", "zzz"])) == {"b"}


def test_labelled_examples_skip_unlabelled_and_missing(settings: Settings) -> None:
    with session_scope(settings) as s:
        user = add_user(s, "ana", "analyst", "0123456789ab")
        decisions = [
            record_decision(s, "a", "confirmed", user),
            record_decision(s, "b", "false_positive", user),
            record_decision(s, "c", "needs_review", user),
            record_decision(s, "gone", "confirmed", user),
        ]
    docs = {
        k: {"title": f"t{k}", "description": "d", "platform": "p", "classification": {"substances": ["fentanyl"]}}
        for k in "abc"
    }
    rows = labelled_examples(decisions, docs)
    assert [(r["listing_id"], r["sale"], r["substances"]) for r in rows] == [("a", 1, ["fentanyl"]), ("b", 0, [])]


def test_cli_users_add_and_token(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGWATCH_VAR_DIR", str(settings.var_dir))
    from core.settings import get_settings

    get_settings.cache_clear()
    pw = tmp_path / "pw"
    pw.write_text("a long enough password\n")
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["users", "add", "liz", "--role", "liaison", "--password-file", str(pw)])
        assert added.exit_code == 0, added.output
        token = runner.invoke(app, ["users", "token", "liz"])
        assert token.exit_code == 0 and token.output.startswith("lw_")
        missing = runner.invoke(app, ["users", "token", "nobody"])
        assert missing.exit_code != 0
    finally:
        get_settings.cache_clear()
    with session_scope(settings) as s:
        assert authenticate(s, "liz", "a long enough password").role == "liaison"
        assert user_for_token(s, token.output.strip()).name == "liz"


def test_migrations_match_the_models(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.store import Base

    with get_engine(settings).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree; write a new revision: {diff}"


def test_refresh_after_run_never_fails_the_run(settings: Settings) -> None:
    from index_config.analyst_views import refresh_after_run

    unreachable = settings.model_copy(update={"es": settings.es.model_copy(update={"port": free_port()})})
    report = refresh_after_run(unreachable)
    assert report["error"] and report["saved_searches"] == []


def test_run_summary_lists_saved_search_matches() -> None:
    from listingwatch.runs.summary import RunSummary, describe

    summary = RunSummary(
        source="s",
        run_key="k",
        finished_at=datetime(2026, 11, 1, tzinfo=UTC),
        saved_searches=[{"user": "ana", "name": "blues", "new_matches": 3, "total": 9}],
    )
    assert "saved search ana/blues: 3 new" in describe(summary)
