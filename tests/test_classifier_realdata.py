"""Real-text corpus building, the model's input text, the drug dictionary and the evaluation scopes.

These run without the fetched corpus: the builder is exercised on a git repository made here,
and the committed reviewed sample (`tests/files/real_sample.jsonl`) stands in for real rows.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers.corpus import Example
from classifiers.corpus_build.build import prepare
from classifiers.corpus_build.labelling import rule_label
from classifiers.evaluate import read_labelled, scope, scope_report
from classifiers.modeldir import ModelDir
from classifiers.text import ListingInput, context_line, model_text
from core.errors import ListingwatchError
from core.lexicon import load_lexicon, match_text
from core.schema import Listing, Seller
from tests.git_mirror import mirror_of, repo_mirror

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "files" / "real_sample.jsonl"


def test_the_model_reads_a_context_line_then_the_fields() -> None:
    item = ListingInput(title="10 GR. CRYSTAL METH", seller="goingpostal", price=True, source_kind="market")
    text, starts = model_text(item)
    assert text.splitlines()[0] == "context: market listing; price; quantity; seller"
    assert [name for name, _ in starts] == ["title", "seller"]
    for name, at in starts:
        assert text[at:].startswith(item.fields()[name])
    # Unknown facts are left out, not guessed; the old format reads the fields alone.
    assert context_line(ListingInput(title="What is fentanyl?")) == "context: listing"
    assert model_text(item, "fields")[0] == "10 GR. CRYSTAL METH\ngoingpostal"


def test_training_and_serving_build_the_same_text() -> None:
    listing = Listing(
        url="https://m.example/1",
        source="s",
        platform="p",
        source_kind="market",
        title="Oxycodone 30mg x 100",
        description="Pharma grade, ships from US",
        price=120.0,
        seller=Seller(name="vendorx"),
    )
    ex = Example(
        title=listing.title or "",
        description=listing.description or "",
        seller="vendorx",
        sale=1,
        substances=["counterfeit_pill"],
        lang="en",
        platform="market",
        family="f",
        source="real",
        source_kind="market",
        price=True,
    )
    assert ex.text() == model_text(ListingInput.from_listing(listing))[0]
    row = json.loads(json.dumps({**listing.model_dump(mode="json"), "sale": 1}))
    assert model_text(ListingInput.from_mapping(row)) == model_text(ListingInput.from_listing(listing))


def test_drug_dictionary_brings_brands_and_spellings_into_the_lexicon() -> None:
    lex = load_lexicon()
    for text, category in (
        ("Opana ER 40mg", "counterfeit_pill"),
        ("Duragesic 100mcg", "fentanyl"),
        ("Xanax 2mg", "counterfeit_pill"),
        ("Dexedrine 10mg", "other_drug"),
        ("desoxyn tabs", "methamphetamine"),
        ("Oxycontine 80", "counterfeit_pill"),
    ):
        assert category in {h.category for h in match_text(text, lex, "title")}, text


def test_drug_names_file_is_what_the_script_generates(tmp_path: Path) -> None:
    out = tmp_path / "drug_names.yaml"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_drug_lexicon.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text(encoding="utf-8") == (ROOT / "core/data/drug_names.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("10 GRAM PURE PERUVIAN cocaine 92%", (1, {"other_drug"})),
        ("100 Grams MDMA CRYSTALS UNCUT", (1, {"other_drug"})),  # the crystal is not meth
        ("quality ice shard 100 grams meth", (1, {"methamphetamine"})),
        ("Buy Quality 10mg Hydrocodone/Vicodin 70pills", (1, {"counterfeit_pill"})),
        ("30 GRAMS OF PURE GOLD BARS", (0, set())),
        ("CBD CRYSTALS ISOLATES 50G", None),  # out of scope either way: left out
        ("Anavar 50mg (Oxandrolone) 60 pills", None),
        ("WESTERN UNION TRANSFER 100% SAFE", (0, set())),
        ("Lemon Cream Pie Haze 3.5 G", (1, {"other_drug"})),
        ("Custom hotel", None),  # undecided: left out
    ],
)
def test_title_rule_labels_markets_without_categories(title: str, expected) -> None:
    rule = {
        "sale_keywords": ["haze", "strain"],
        "not_sale_keywords": ["western union", "gold"],
        "excluded_keywords": ["cbd", "anavar"],
    }
    got = rule_label(title, rule)
    assert (got[:2] if got else None) == expected


def _spec(repo_name: str, commit: str) -> dict:
    return {
        "version": 1,
        "seed": 3,
        "sources": {
            "mkt": {
                "repo": repo_name,
                "commit": commit,
                "paths": ["data/"],
                "parser": "dnm_csv",
                "source_kind": "market",
                "split": {"train": 0.5, "validation": 0.5},
                "categories": {"stims/meth": ["methamphetamine"], "opiods/pills": ["counterfeit_pill"]},
                "negative_prefixes": ["weapons"],
                "excluded": ["steroids/steriods"],
            },
            "wiki": {
                "repo": repo_name,
                "commit": commit,
                "paths": ["articles/"],
                "file_prefix": "WIKIPEDIA - ",
                "parser": "article_md",
                "source_kind": "reference",
                "split": "test",
                "label_method": "articles are not offers",
            },
        },
    }


def test_corpus_build_is_reproducible_hashed_and_split_by_source(tmp_path: Path) -> None:
    header = "listing_title,listing_price,listing_vendor\n"
    mirrors, commit = mirror_of(
        tmp_path,
        {
            "data/D&C_-_stims_-_meth_-_20170427.csv": header
            + '"10 GR. CRYSTAL METH","USD 300",a\n"1G METH SHARDS","USD 40",b\n',
            "data/D&C_-_opiods_-_pills_-_20170427.csv": header + '"Fentanyl pressed M30 x10","USD 90",c\n',
            "data/Weapons_-_20170509.csv": header + '"Credit card knife","USD 9",d\n',
            "data/D&C_-_steroids_-_steriods_-_20170420.csv": header + '"Anavar","USD 9",e\n',
            "articles/Meth/WIKIPEDIA - Meth.md": "# Methamphetamine\n*Source: x*\n\n"
            + "Methamphetamine is a potent stimulant of the central nervous system. " * 3
            + "\n\n## Synthesis\n\n"
            + "Racemic methamphetamine may be prepared from phenylacetone. " * 3,
        },
    )
    work = tmp_path / "work"
    spec = _spec("o/r", commit)
    first = prepare(mirrors, tmp_path / "a", spec)
    second = prepare(mirrors, tmp_path / "b", spec)
    assert first["corpus_sha256"] == second["corpus_sha256"]
    assert (tmp_path / "a" / "corpus.jsonl").read_bytes() == (tmp_path / "b" / "corpus.jsonl").read_bytes()
    blob = (work / "data" / "D&C_-_stims_-_meth_-_20170427.csv").read_bytes()
    files = first["inputs"]["mkt"]["files"]
    assert files["data/D&C_-_stims_-_meth_-_20170427.csv"] == hashlib.sha256(blob).hexdigest()

    rows = {r["title"]: r for r in map(json.loads, (tmp_path / "a" / "corpus.jsonl").read_text().splitlines())}
    assert "Anavar" not in rows  # excluded category
    assert rows["10 GR. CRYSTAL METH"]["substances"] == ["methamphetamine"]
    assert rows["Fentanyl pressed M30 x10"]["substances"] == ["counterfeit_pill", "fentanyl"]  # title refines
    assert rows["Credit card knife"]["sale"] == 0
    assert {r["split"] for r in rows.values() if r["origin"] == "mkt"} <= {"train", "validation"}
    wiki = [r for r in rows.values() if r["origin"] == "wiki"]
    assert len(wiki) == 2 and {r["split"] for r in wiki} == {"test"}  # intro + synthesis, whole source held out


def test_missing_mirrors_are_named_all_at_once(tmp_path: Path) -> None:
    spec = _spec("o/r", "HEAD")
    spec["sources"]["wiki"]["repo"] = "other/repo"
    with pytest.raises(ListingwatchError, match=r"o/r, other/repo"):
        prepare(tmp_path, tmp_path / "out", spec)


def test_labelled_file_reports_every_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"title": "ok", "sale": 1, "substances": ["fentanyl"]}\n'
        '{"title": "no label"}\n'
        "not json\n"
        '{"title": "x", "sale": 1, "substances": ["unicorn"]}\n',
        encoding="utf-8",
    )
    with pytest.raises(ListingwatchError, match=r"3 bad lines: line 2: .*line 3: .*line 4: unknown substances"):
        read_labelled(bad)


def test_committed_sample_is_a_valid_labelled_file_with_reviews() -> None:
    rows = read_labelled(SAMPLE)
    raw = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(raw) >= 40
    assert all(r["review"]["verdict"] in ("agree", "disagree") for r in raw)
    assert {r.origin for r in rows} >= {"dnm-2017", "agartha-2020", "wikipedia-drugs", "psychonautwiki"}
    assert {scope(r.sale, r.substances) for r in rows} == {"synthetic", "other_drug", "lookalike"}


def test_scope_report_measures_each_target() -> None:
    def ex(sale: int, subs: list[str]) -> Example:
        return Example("t", "", "", sale, subs, "en", "market", "f", source="real", origin="m")

    rows = [ex(1, ["fentanyl"]), ex(1, ["fentanyl"]), ex(1, ["other_drug"]), ex(0, []), ex(0, [])]
    report = scope_report(rows, np.array([True, False, True, True, False]))
    assert report["recall_synthetic"] == 0.5 and report["recall_other_drug"] == 1.0
    assert report["precision"] == 2 / 3 and report["fpr_lookalike"] == 0.5
    assert report["targets"] == {
        "recall_synthetic": False,
        "recall_other_drug": True,
        "precision": False,
        "fpr_lookalike": False,
    }


def test_model_directory_reader_names_every_missing_file(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ListingwatchError, match=r"thresholds\.json, metrics\.json, labels\.json, stacker\.json"):
        ModelDir.open(tmp_path)


def test_model_metadata_round_trips_and_old_models_read_the_fields_only() -> None:
    from classifiers.modeldir import CorpusSpec, Meta

    meta = Meta(
        version="clf-1",
        created_at="2026-12-02T00:00:00Z",
        base_model="b",
        outputs=("illicit_sale",),
        sale_output="illicit_sale",
        max_length=96,
        train_config={"per_family": 3, "seed": 0},
        quick=True,
        corpus={},
        train_seconds=1.0,
        input_format="context-v1",
        corpus_spec=CorpusSpec(per_family=3, seed=0, real_sha256="ab", real_rows={"train": 5}),
    )
    assert Meta.from_json(json.loads(json.dumps(meta.to_json()))) == meta
    old = {k: v for k, v in meta.to_json().items() if k not in ("input_format", "corpus_spec")}
    assert Meta.from_json(old).input_format == "fields"
    assert Meta.from_json(old).spec == CorpusSpec(per_family=3, seed=0)


def test_table_parser_maps_columns_from_the_source_spec(tmp_path: Path) -> None:
    from classifiers.corpus_build.parsers import parse_table

    m = repo_mirror(
        tmp_path,
        {
            "CSVs/Devices.csv": "product_name,drug_varient,final_price\n"
            "Digital Thermometer,Mfr: A Ltd,Rs. 120.00\nNebulizer,Mfr: B Ltd,\n,Mfr: C,Rs. 1\n",
            "shop.csv": 'x1,Alisha Cycling Shorts,"[""Clothing >> Women\'s Clothing >> Shorts""]"\n'
            'x2,Crystal Paper Weight,"[""Home Decor >> Showpieces""]"\n',
        },
    )
    pharmacy = {
        "paths": ["CSVs/"],
        "columns": {"title": "product_name", "seller": "drug_varient", "price": "final_price", "category": "file"},
        "source_kind": "shop",
        "label_method": "pharmacy listing",
    }
    rows = {r.title: r for r in parse_table(m, "rx", pharmacy)}
    assert set(rows) == {"Digital Thermometer", "Nebulizer"}  # a row without a title is skipped
    assert rows["Digital Thermometer"].price and not rows["Nebulizer"].price
    assert rows["Nebulizer"].seller == "Mfr: B Ltd" and rows["Nebulizer"].sale == 0
    assert rows["Nebulizer"].label_method == "pharmacy listing (Devices)"
    shop = {
        "paths": ["shop.csv"],
        "header": ["id", "name", "tree"],
        "columns": {"title": "name", "description": "tree", "category": "tree"},
        "exclude_categories": ["Home Decor"],
        "source_kind": "shop",
        "label_method": "shop title",
    }
    (row,) = parse_table(m, "shop", shop)
    assert row.title == "Alisha Cycling Shorts" and row.description.startswith("Clothing >> Women's")
    assert row.label_method == "shop title (Clothing)" and row.substances == []


def test_ts_records_parser_reads_catalogue_entries(tmp_path: Path) -> None:
    from classifiers.corpus_build.parsers import parse_ts_records

    module = (
        'export const data = {\n  products: [\n    {\n      code: "1",\n      product: "CRYSTAL VIOLET",\n'
        '      CASNo: "548-62-9",\n      specs: {\n        Appearance: "Green Crystals",\n      },\n'
        '      msds: { CASNo: "0-0-0" },\n    },\n    {\n      code: \'2\',\n      CASNo: "130-22-3",\n'
        '      product: "EVAN\'S BLUE",\n    },\n  ],\n};\n'
    )
    m = repo_mirror(tmp_path, {"src/data/chem.ts": module})
    spec = {
        "paths": ["src/data/"],
        "record_key": "code",
        "fields": {"title": "product", "CAS": "CASNo", "Appearance": "Appearance"},
        "source_kind": "shop",
        "label_method": "chemical catalogue",
    }
    rows = {r.title: r for r in parse_ts_records(m, "chem", spec)}
    assert rows["CRYSTAL VIOLET"].description == "CAS: 548-62-9. Appearance: Green Crystals"  # first CAS kept
    assert rows["EVAN'S BLUE"].description == "CAS: 130-22-3"
    assert {r.sale for r in rows.values()} == {0}


def test_round_robin_cap_fills_from_larger_categories() -> None:
    import random

    from classifiers.corpus_build.build import _cap
    from classifiers.corpus_build.rows import RealRow

    def row(i: int, cat: str) -> RealRow:
        return RealRow(f"{cat}{i}", "s", "shop", f"t{cat}{i}", "", "", False, 0, [], f"g{i}", cat)

    rows = [row(0, "small")] + [row(i, "big") for i in range(10)]
    assert len(_cap(list(rows), {"not_sale": 6}, random.Random(1))) == 4  # an equal share of 3 each
    filled = _cap(list(rows), {"not_sale": 6, "fill": "round_robin"}, random.Random(1))
    assert len(filled) == 6 and sum(r.label_method == "small" for r in filled) == 1


def test_market_table_parser_labels_rows_by_their_category_path(tmp_path: Path) -> None:
    from classifiers.corpus_build.parsers import parse_market_table

    m = repo_mirror(
        tmp_path,
        {
            "m.csv": "vendor,l2,l3,product,price\n"
            "a,Stimulants,Meth,1g Shards,10.00\n"
            "a,Opiates,RC,isotonitazene (stronger than fent) 5g,90\n"
            "b,Opiates,,Fentanyl patch 100ug,\n"
            "b,Steroids,,Anavar 10mg,20\n"
            "c,,,Mystery box,5\n"
            "c,Cannabis & Hash,Seeds,10 auto seeds,5\n"
            "c,Cannabis & Hash,Hash,Moroccan hash 5g,30\n",
            "trd.txt": "2015-04-16 ., Black Hat Bible ., http://x/1 ., BTC 0.1 ., v1 ., 0 reviews ., : Tutorials\n"
            "2015-04-16 ., High Purity Crystal 1g ., http://x/2 ., BTC 0.2 ., v2 ., 0 reviews ., : Methamphetamine\n"
            "2015-04-16 ., Valium 10mg ., http://x/3 ., BTC 0.2 ., v2 ., 0 reviews ., : Pharmacy\n",
        },
    )
    spec = {
        "paths": ["m.csv"],
        "columns": {"title": "product", "seller": "vendor", "price": "price"},
        "category_columns": ["l2", "l3"],
        "source_kind": "market",
        "categories": {
            "stimulants/meth": ["methamphetamine"],
            "opiates": ["other_drug"],
            "cannabis_&_hash": ["other_drug"],
        },
        "excluded": ["steroids", "cannabis_&_hash/seeds"],
    }
    rows = {r.title: r for r in parse_market_table(m, "mkt", spec)}
    # steroids and seeds are excluded, a row without a category is left out
    assert set(rows) == {
        "1g Shards",
        "isotonitazene (stronger than fent) 5g",
        "Fentanyl patch 100ug",
        "Moroccan hash 5g",
    }
    assert rows["1g Shards"].substances == ["methamphetamine"] and rows["1g Shards"].price
    assert rows["isotonitazene (stronger than fent) 5g"].substances == ["nitazene"]  # fent only in comparison
    assert rows["Fentanyl patch 100ug"].substances == ["fentanyl"] and not rows["Fentanyl patch 100ug"].price
    assert rows["Moroccan hash 5g"].label_method == "category cannabis_&_hash/hash"
    trd = {
        "paths": ["trd.txt"],
        "file_suffix": ".txt",
        "separator": " ., ",
        "header": ["date", "title", "url", "price", "vendor", "reviews", "category"],
        "columns": {"title": "title", "seller": "vendor", "price": "price"},
        "category_columns": ["category"],
        "category_strip": ": ",
        "source_kind": "market",
        "categories": {"methamphetamine": ["methamphetamine"]},
        "negative_categories": ["tutorials"],
        "excluded": ["pharmacy"],
    }
    rows = {r.title: r for r in parse_market_table(m, "trd", trd)}
    assert set(rows) == {"Black Hat Bible", "High Purity Crystal 1g"}
    assert (
        rows["Black Hat Bible"].sale == 0 and rows["Black Hat Bible"].label_method == "category tutorials (not drugs)"
    )
    assert rows["High Purity Crystal 1g"].sale == 1 and rows["High Purity Crystal 1g"].seller == "v2"


def test_real_shop_lookalikes_weigh_more_in_the_loss() -> None:
    from classifiers.train import FULL_REAL, row_weights

    def ex(sale: int, source: str, kind: str) -> Example:
        return Example("t", "", "", sale, [], "es", kind, "f", source=source, source_kind=kind)

    rows = [ex(0, "real", "shop"), ex(1, "real", "shop"), ex(0, "real", "market"), ex(0, "generated", "shop")]
    assert row_weights(rows, FULL_REAL).tolist() == [FULL_REAL.shop_lookalike_weight, 1.0, 1.0, 1.0]
    assert FULL_REAL.shop_lookalike_weight > 1.0
