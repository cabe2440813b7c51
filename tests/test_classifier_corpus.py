"""The owned corpus: splits by family (no leakage), both classes and languages everywhere, labels valid."""

import json

import pytest

from classifiers.corpus import (
    SPLITS,
    Example,
    assign_splits,
    build_corpus,
    load_handwritten,
    obfuscate,
    with_vendor_descriptions,
)
from core.errors import ConfigError
from core.labels import SUBSTANCES, scope_of
from core.lexicon import load_lexicon, match_text


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(per_family=12, seed=0)


def test_no_family_appears_in_two_splits(corpus) -> None:
    owner: dict[str, set[str]] = {}
    for ex in corpus:
        owner.setdefault(ex.family, set()).add(ex.split)
    assert all(len(splits) == 1 for splits in owner.values()), {f: s for f, s in owner.items() if len(s) > 1}


def test_no_text_leaks_across_splits(corpus) -> None:
    seen: dict[str, str] = {}
    leaks = 0
    for ex in corpus:
        other = seen.setdefault(ex.text(), ex.split)
        leaks += other != ex.split
    assert leaks == 0


def test_every_split_has_both_classes_and_both_languages(corpus) -> None:
    for split in SPLITS:
        rows = [ex for ex in corpus if ex.split == split]
        assert {ex.sale for ex in rows} == {0, 1}, split
        assert {ex.lang for ex in rows} == {"en", "es"}, split


def test_labels_are_consistent(corpus) -> None:
    for ex in corpus:
        assert set(ex.substances) <= set(SUBSTANCES)
        assert ex.sale or not ex.substances  # negatives name no substance on offer
        assert not ex.sale or ex.substances, ex


def test_corpus_is_deterministic_per_seed() -> None:
    a = [e.text() for e in build_corpus(per_family=3, seed=7)]
    assert a == [e.text() for e in build_corpus(per_family=3, seed=7)]
    assert a != [e.text() for e in build_corpus(per_family=3, seed=8)]


def test_split_assignment_is_stable_and_stratified() -> None:
    fams = {f"pos{i}": (1, "en") for i in range(10)} | {f"neg{i}": (0, "es") for i in range(10)}
    first = assign_splits(fams, seed=0)
    assert first == assign_splits(fams, seed=0)
    for key in ((1, "en"), (0, "es")):
        got = sorted(first[f] for f, k in fams.items() if k == key)
        assert got.count("train") == 6 and got.count("validation") == 2 and got.count("test") == 2


def test_a_family_added_in_a_stratum_of_its_own_moves_no_other_family(corpus) -> None:
    fams = {f"pos{i}": (1, "en") for i in range(10)}
    before = assign_splits(fams, seed=0)
    assert {f: s for f, s in assign_splits(fams | {"new": (1, "terse")}, seed=0).items() if f != "new"} == before
    # the reason for strata of their own: joining an existing one reshuffles it (unless it sorts last)
    joined = [assign_splits(fams | {f"new{i}": (1, "en")}, seed=0) for i in range(5)]
    assert any({f: s for f, s in split.items() if f in fams} != before for split in joined)
    # the families the templates file adds that way train the model and leave evaluation alone
    assert {ex.split for ex in corpus if ex.topic in {"terse", "boilerplate"}} == {"train"}


def test_obfuscated_terms_stay_findable_by_the_lexicon() -> None:
    import random

    lex = load_lexicon()
    rng = random.Random(3)
    found = sum(
        any(h.category == "fentanyl" for h in match_text(f"selling {obfuscate('fentanyl', rng)} now", lex))
        for _ in range(60)
    )
    assert found >= 55  # emoji-suffixed and a few leet variants included; nearly all must still match


def test_handwritten_examples_load_and_bad_lines_are_reported(tmp_path) -> None:
    assert len(load_handwritten()) >= 40
    good = {"group": "g", "lang": "en", "platform": "forum_post", "sale": 0, "substances": []}
    (tmp_path / "x.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "substances": ["unicorn"]}) + "\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"x\.jsonl:2"):
        load_handwritten(tmp_path)


def test_corpus_does_not_depend_on_the_process_hash_seed() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import hashlib; from classifiers.corpus import build_corpus; "
        "print(hashlib.sha256('\\n'.join(e.text() for e in build_corpus(per_family=4, seed=1)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(digests) == 1
    assert digests != {""}


def _market_row(i: int, split: str, sale: int, kind: str = "market") -> Example:
    return Example(
        title=f"{i} g item {i}",
        description="",
        seller=f"v{i}",
        sale=sale,
        substances=["other_drug"] if sale else [],
        lang="en",
        platform=kind,
        family=f"real_m_{i}",
        source="real",
        split=split,
        origin="m",
        source_kind=kind,
    )


def test_vendor_descriptions_go_on_real_market_titles_outside_test_only() -> None:
    rows = [_market_row(i, split, i % 2) for i in range(300) for split in ("train", "validation", "test")]
    refs = [
        Example(
            title="Drug",
            description=f"Reference {split} text {i} about a drug.",
            seller="",
            sale=0,
            substances=[],
            lang="en",
            platform="reference",
            family=f"real_w_{i}",
            source="real",
            split=split,
            origin="w",
            source_kind="reference",
        )
        for i in range(5)
        for split in ("train", "validation", "test")
    ]
    once = with_vendor_descriptions(rows + refs, 0.5, seed=3)
    assert once == with_vendor_descriptions(rows + refs, 0.5, seed=3)  # rebuilt identically for evaluation
    described = [e for e in once if e.source_kind == "market" and e.description]
    assert {e.split for e in described} == {"train", "validation"}
    assert 0.35 < len(described) / 600 < 0.65
    assert {e.sale for e in described} == {0, 1}  # no evidence either way
    # excerpts come from the row's own split: no test text reaches train or validation
    for e in described:
        others = {"train", "validation", "test"} - {e.split}
        assert not any(f"Reference {split} text" in e.description for split in others)
    assert any("Reference train text" in e.description for e in described)
    assert with_vendor_descriptions(rows, 0.0, seed=3) == rows


@pytest.mark.parametrize(
    ("flagged", "substances", "expected"),
    [
        (True, ["fentanyl", "other_drug"], "synthetic"),
        (True, ["other_drug"], "other_drug"),
        (True, [], "other_drug"),
        (False, ["fentanyl"], "none"),
    ],
)
def test_scope_names_sort_the_way_analysts_rank(flagged: bool, substances: list[str], expected: str) -> None:
    assert scope_of(flagged, substances) == expected
    assert sorted(["none", "synthetic", "other_drug"], reverse=True) == ["synthetic", "other_drug", "none"]
