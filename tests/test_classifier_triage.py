"""Analysts' triage labels in training: gathered from the store, a train-only stratum, held-out splits unchanged."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifiers.corpus import corpus_for, triage_examples
from classifiers.modeldir import CorpusSpec, Meta
from core.digests import file_sha256
from core.errors import ConfigError
from core.settings import Settings, load_settings
from core.store import session_scope
from core.store.triage import record_decision
from core.store.users import add_user

DOCS = {
    "L1": {
        "title": "M30 blues 100ct",
        "description": "pressed fent pills, stealth shipping",
        "seller": {"name": "bluesman"},
        "platform": "marketplace",
        "price": 250.0,
        "language": "en",
        "classification": {"substances": ["fentanyl", "counterfeit_pill"], "model_version": "v1"},
    },
    "L2": {
        "title": "Blue snow boots size 42",
        "description": "warm winter boots, barely worn",
        "seller": {"name": "ana"},
        "platform": "classified_ad",
        "language": "en",
        "classification": {"substances": ["cocaine"], "model_version": "v1"},
    },
    "L3": {"title": "maybe", "description": "unclear", "language": "en"},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(var_dir=tmp_path)


def _decide(settings: Settings) -> None:
    with session_scope(settings) as s:
        ana = add_user(s, "ana", "analyst", "0123456789ab")
        at = datetime(2026, 11, 1, tzinfo=UTC)
        record_decision(s, "L1", "false_positive", ana, at=at)
        record_decision(s, "L1", "confirmed", ana, note="pressed M30", at=at.replace(hour=2))  # the latest counts
        record_decision(s, "L2", "false_positive", ana, at=at)
        record_decision(s, "L3", "needs_review", ana, at=at)  # no label
        record_decision(s, "gone", "confirmed", ana, at=at)  # no longer in the index: no text


def _labels(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "triage.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(listing_id: str, title: str, sale: int, substances: list[str]) -> dict:
    return {
        "title": title,
        "description": "",
        "seller": "",
        "sale": sale,
        "substances": substances,
        "lang": "en",
        "platform": "marketplace",
        "group": f"triage_{listing_id}",
        "listing_id": listing_id,
    }


def _spec(path: Path | None) -> CorpusSpec:
    if path is None:
        return CorpusSpec(per_family=3, seed=0)
    return CorpusSpec(per_family=3, seed=0, triage_sha256=file_sha256(path), triage_rows=len(triage_examples(path)))


def _held_out(corpus) -> dict[str, list[str]]:
    return {split: [ex.text() for ex in corpus if ex.split == split] for split in ("validation", "test")}


def test_the_retrain_job_gathers_current_decisions_into_a_labels_file(settings: Settings) -> None:
    from listingwatch.jobs.retrain import gather_triage_labels, triage_labels_path

    _decide(settings)
    asked: list[list[str]] = []

    def fetch(ids):
        asked.append(sorted(ids))
        return {k: v for k, v in DOCS.items() if k in ids}

    labels = gather_triage_labels(settings, fetch=fetch)
    assert labels.path == triage_labels_path(settings) == settings.model.models_dir / "triage-labels.jsonl"
    assert (labels.rows, labels.skipped) == (2, 2)
    assert asked == [["L1", "L2", "L3", "gone"]]
    rows = {r["listing_id"]: r for r in map(json.loads, labels.path.read_text().splitlines())}
    assert rows["L1"]["sale"] == 1 and rows["L1"]["substances"] == ["counterfeit_pill", "fentanyl"]
    assert rows["L1"]["note"] == "pressed M30" and rows["L1"]["by"] == "ana"
    assert rows["L2"]["sale"] == 0 and rows["L2"]["substances"] == []
    examples = {ex.family: ex for ex in triage_examples(labels.path)}
    assert set(examples) == {"triage_L1", "triage_L2"}
    one = examples["triage_L1"]
    assert (one.source, one.topic, one.split, one.seller, one.price) == ("triage", "triage", "train", "bluesman", True)
    assert not list(settings.model.models_dir.glob(".*.tmp"))  # written atomically, nothing left behind


def test_no_decisions_writes_an_empty_file_without_asking_the_index(settings: Settings) -> None:
    from listingwatch.jobs.retrain import gather_triage_labels

    def fetch(ids):
        raise AssertionError("the index is not needed without decisions")

    labels = gather_triage_labels(settings, settings.var_dir / "out.jsonl", fetch=fetch)
    assert (labels.rows, labels.skipped) == (0, 0) and labels.path.read_text() == ""


def test_train_candidate_passes_the_gathered_labels_to_training(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.release
    from listingwatch.jobs import retrain

    calls: list[dict] = []
    monkeypatch.setattr(classifiers.release, "train_and_release", lambda settings, **kw: calls.append(kw) or Path("m"))
    monkeypatch.setattr(retrain, "gather_triage_labels", lambda s: retrain.TriageLabels(Path("t.jsonl"), 3, 0))
    retrain.train_candidate(settings, quick=True)
    monkeypatch.setattr(retrain, "gather_triage_labels", lambda s: retrain.TriageLabels(Path("t.jsonl"), 0, 1))
    retrain.train_candidate(settings, quick=True)
    retrain.train_candidate(settings, quick=True, triage=False)
    assert [c["triage"] for c in calls] == [Path("t.jsonl"), None, None]
    assert all(c["promote"] is False for c in calls)


def test_triage_rows_only_train_and_leave_validation_and_test_exactly_unchanged(tmp_path: Path) -> None:
    path = _labels(
        tmp_path,
        [_row("a", "M30 blues 100ct fent pressed", 1, ["fentanyl"]), _row("b", "Winter boots, snow white", 0, [])],
    )
    plain = corpus_for(_spec(None), None)
    with_triage = corpus_for(_spec(path), None, path)
    assert _held_out(with_triage) == _held_out(plain)
    added = [ex for ex in with_triage if ex.source == "triage"]
    assert [ex.family for ex in added] == ["triage_a", "triage_b"]
    assert {ex.split for ex in added} == {"train"}
    train_plain = [ex.text() for ex in plain if ex.split == "train"]
    assert [ex.text() for ex in with_triage if ex.split == "train"] == train_plain + [ex.text() for ex in added]


def test_a_triage_row_never_reaches_a_held_out_split_even_when_it_copies_one(tmp_path: Path) -> None:
    plain = corpus_for(_spec(None), None)
    test_row = next(ex for ex in plain if ex.split == "test")
    copy = _row("dup", test_row.title, test_row.sale, test_row.substances)
    copy.update(description=test_row.description, seller=test_row.seller, platform=test_row.platform)
    copy["source_kind"], copy["price"] = test_row.source_kind, test_row.price
    path = _labels(tmp_path, [copy, _row("new", "fresh meth crystals", 1, [])])
    corpus = corpus_for(_spec(path), None, path)
    assert [ex.family for ex in corpus if ex.source == "triage"] == ["triage_new"]  # the copy would leak: dropped
    assert all(ex.split == "train" for ex in corpus if ex.source == "triage")
    held_out = {ex.text() for ex in corpus if ex.split != "train"}
    assert not any(ex.text() in held_out for ex in corpus if ex.split == "train" and ex.source == "triage")


def test_the_spec_records_the_file_and_evaluation_rebuilds_without_it(tmp_path: Path) -> None:
    path = _labels(tmp_path, [_row("a", "M30 blues", 1, ["fentanyl"])])
    spec = _spec(path)
    assert spec.triage_sha256 == file_sha256(path) and spec.triage_rows == 1
    meta = {"version": "v", "created_at": "", "base_model": "", "outputs": ["sale"], "sale_output": "sale"}
    meta |= {"max_length": 8, "train_config": {}, "quick": True, "corpus": {}, "train_seconds": 0.0}
    assert Meta.from_json(Meta(**meta | {"outputs": ("sale",), "corpus_spec": spec}).to_json()).spec == spec
    path.unlink()  # the labels file is gone later: validation and test still rebuild, the same as ever
    assert _held_out(corpus_for(spec, None)) == _held_out(corpus_for(_spec(None), None))
    with pytest.raises(ConfigError, match="missing or differ"):
        corpus_for(spec, None, path)
    other = _labels(tmp_path, [_row("b", "other", 0, [])])
    with pytest.raises(ConfigError, match="missing or differ"):
        corpus_for(spec, None, other)


def test_a_bad_triage_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = _labels(tmp_path, [_row("a", "M30 blues", 1, ["unobtainium"])])
    with pytest.raises(ConfigError, match=r"triage.jsonl:1 .*unknown substances"):
        triage_examples(path)


def test_model_train_help_documents_triage() -> None:
    from typer.testing import CliRunner

    from listingwatch.cli import app

    out = CliRunner().invoke(app, ["model", "train", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "--triage" in out.output and "triage export" in out.output
