"""The owned corpus: splits by family (no leakage), both classes and languages everywhere, labels valid."""

import json

import pytest

from classifiers.corpus import SPLITS, assign_splits, build_corpus, load_handwritten, obfuscate
from classifiers.labels import SUBSTANCES
from classifiers.lexicon import load_lexicon, match_text
from listingwatch.errors import ConfigError


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
