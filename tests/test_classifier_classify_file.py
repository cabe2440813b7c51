"""`classify_file` and the `listingwatch classify` command: bad lines, the skip cache, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers.inference import MAX_SNIPPET, Classifier, classify_file
from core.schema import Listing

pytestmark = pytest.mark.slow


def write_input(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def row(i: int, title: str, description: str) -> str:
    return Listing(
        url=f"https://f.example/{i}", source="t", platform="t", title=title, description=description
    ).model_dump_json()


GOOD = [
    row(1, "M30 blues 💊", "pressed fent, tele @plugdude, BTC only"),
    row(2, "Snow boots", "Waterproof snow boots, size 10, $45."),
]


def test_bad_lines_are_reported_with_numbers_and_skipped(model_settings, tmp_path) -> None:
    src = write_input(
        tmp_path / "in.jsonl",
        [GOOD[0], "{not json", json.dumps({"url": "ftp://x", "source": "s", "platform": "p"}), "", GOOD[1]],
    )
    out = tmp_path / "out.jsonl"
    report = classify_file(src, out, model_settings)
    assert [b.line for b in report.bad_lines] == [2, 3]
    assert "url" in report.bad_lines[1].error
    assert report.classified == 2 and report.flagged == 1
    written = [Listing.model_validate_json(x) for x in out.read_text().splitlines()]
    assert [li.url for li in written] == ["https://f.example/1", "https://f.example/2"]
    assert written[0].classification.flagged and not written[1].classification.flagged


def test_skip_cache_reuses_scores_and_rederives_spans(model_settings, tmp_path) -> None:
    clf = Classifier.load(model_settings)
    first = classify_file(write_input(tmp_path / "a.jsonl", GOOD), tmp_path / "a.out", model_settings, clf)
    assert first.cached == 0
    # Same texts up to case and whitespace: scored already by this model version.
    variant = row(3, "M30   BLUES 💊", "Pressed fent,  tele @plugdude, BTC only")
    again = classify_file(write_input(tmp_path / "b.jsonl", [*GOOD, variant]), tmp_path / "b.out", model_settings, clf)
    assert again.cached == 3 and again.classified == 3
    out = [Listing.model_validate_json(x) for x in (tmp_path / "b.out").read_text().splitlines()]
    assert out[2].classification.score == out[0].classification.score
    for hit in out[2].classification.explanation.lexicon:
        assert getattr(out[2], hit.field)[hit.start : hit.end] == hit.term
    for tok in out[2].classification.explanation.tokens:
        if tok.start is not None:
            assert getattr(out[2], tok.field)[tok.start : tok.end].casefold() == tok.token.casefold()
    assert (model_settings.var_dir / "classify-cache").is_dir()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "listingwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def test_cli_without_a_model_fails_in_one_line(tmp_path) -> None:
    src = write_input(tmp_path / "in.jsonl", GOOD)
    env = {"LISTINGWATCH_HOME": str(tmp_path), "LISTINGWATCH_MODEL__MODELS_DIR": str(tmp_path / "models")}
    for args in (["classify", str(src), str(tmp_path / "out.jsonl")], ["model", "info"], ["model", "evaluate"]):
        proc = _cli(args, env)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "listingwatch model train" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_classifies_a_file(trained_model, tmp_path) -> None:
    src = write_input(tmp_path / "in.jsonl", [*GOOD, "garbage"])
    env = {
        "LISTINGWATCH_HOME": str(tmp_path),
        "LISTINGWATCH_MODEL__MODELS_DIR": str(trained_model.settings.model.models_dir),
    }
    proc = _cli(["classify", str(src), str(tmp_path / "out.jsonl"), "--no-explain"], env)
    assert proc.returncode == 1, proc.stderr  # some lines were bad: the same exit status as `index load`
    assert "in.jsonl:3: skipped" in proc.stderr
    assert "2 classified" in proc.stdout and "1 flagged" in proc.stdout
    info = _cli(["model", "info"], env)
    assert info.returncode == 0 and f"* {trained_model.version}" in info.stdout


def _vendor_menu(shift: int) -> str:
    """A long vendor menu: the shape (3k-40k characters) whose explanations used to break the field cap."""
    items = ["meth crystal 3.5g $60", "fent powder 1g $90", "oxy m30 10x $200", "xanax bars 20x $80", "coke 1g $100"]
    lines = [items[(i + shift) % len(items)] for i in range(400)]
    return "MENU telegram @plugdude " + " | ".join(lines) + " wickr plugdude BTC XMR only, stealth shipping"


def test_long_vendor_menus_never_stop_a_file(model_settings, tmp_path) -> None:
    rows = [row(100 + k, "Vendor menu", _vendor_menu(k)) for k in range(12)]
    (tmp_path / "files").mkdir()
    src = write_input(tmp_path / "files" / "menus.jsonl", [*rows, GOOD[1]])
    out = tmp_path / "files" / "menus.out.jsonl"
    report = classify_file(src, out, model_settings)
    assert report.failed == [] and report.bad_lines == []
    assert report.classified == 13 and report.flagged >= 12
    written = [Listing.model_validate_json(x) for x in out.read_text().splitlines()]
    tokens = [t for li in written for t in li.classification.explanation.tokens]
    assert tokens and max(len(t.token) for t in tokens) <= MAX_SNIPPET
    assert sorted(p.name for p in out.parent.iterdir()) == ["menus.jsonl", "menus.out.jsonl"]  # no .part left


def test_a_line_needs_only_text_and_keeps_the_callers_fields(model_settings, tmp_path) -> None:
    mine = {"id": 7, "title": "M30 blues 💊", "description": "pressed fent, BTC only", "batch": {"n": [1, 2]}}
    src = tmp_path / "mine.jsonl"
    src.write_bytes(
        json.dumps(mine).encode() + b"\n"
        + json.dumps({"id": 8, "seller": "bob"}).encode() + b"\n"  # nothing the model reads
        + b'{"id": 9, "title": "caf\xe9 con leche"}\n'  # Latin-1: rejected, never silently replaced
        + json.dumps({"id": 10, "title": "Snow boots", "seller": "outdoor shop"}).encode() + b"\n"
    )  # fmt: skip
    out = tmp_path / "mine.out.jsonl"
    report = classify_file(src, out, model_settings)
    assert [(b.line, "title or description" in b.error or "UTF-8" in b.error) for b in report.bad_lines] == [
        (2, True),
        (3, True),
    ]
    first, last = (json.loads(x) for x in out.read_text().splitlines())
    assert {k: v for k, v in first.items() if k != "classification"} == mine
    assert first["classification"]["flagged"] and first["classification"]["model_version"]
    assert last["id"] == 10 and last["seller"] == "outdoor shop" and "classification" in last


def test_one_record_that_cannot_be_scored_is_reported_and_the_rest_go_on() -> None:
    from classifiers.inference import _classify_each
    from classifiers.text import ListingInput
    from core.schema import Classification

    class Picky:
        """Scores everything except a title of "boom", the way a record that breaks a model would."""

        def classify(self, items, explain=True):
            if any(i.title == "boom" for i in items):
                raise ValueError("cannot score this one")
            return [Classification(score=0.1, flagged=False, threshold=0.5, model_version="t") for _ in items]

    items = [ListingInput(title="a"), ListingInput(title="boom"), ListingInput(title="c")]
    results = _classify_each(Picky(), items, explain=True)
    assert [type(r).__name__ for r in results] == ["Classification", "str", "Classification"]
    assert "cannot score this one" in results[1]
