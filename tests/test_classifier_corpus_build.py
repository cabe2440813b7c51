"""The corpus build tool: new table options, look-alike kinds, contact placeholders, withdrawals, the shipped file.

The builder runs on a git repository made here (no fetched mirror needed); the shipped snapshot is
checked as committed, since it is what every fresh clone trains on.
"""

import hashlib
import json
from pathlib import Path

import pytest

from classifiers.corpus_build.build import prepare
from classifiers.corpus_build.mirror import load_sources
from classifiers.corpus_build.parsers import parse_table
from classifiers.placeholders import PLACEHOLDERS, scrub_contacts
from classifiers.realcorpus import SNAPSHOT_FILE, read_rows
from tests.git_mirror import mirror_of, repo_mirror


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Protonitazene 5g — wickr: rcshop", "Protonitazene 5g — wickr: <wickr>"),
        ("Pressed M30s — telegram @plugxyz", "Pressed M30s — telegram <telegram>"),
        ("Contact US ON WICKR ME : Coachman12 24/7", "Contact US ON WICKR ME : <wickr> 24/7"),
        ("email: jet.love@protonmail.com now", "email: <email> now"),
        ("whatsapp ; +1 (781) 667-3317", "whatsapp ; <phone>"),
        ("call 555-123-4567", "call <phone>"),
        ("mirror at http://ymhulceusuzrj3i5.onion/shop", "mirror at <onion>"),
        ("join t.me/plugchannel or https://t.me/plugchannel", "join <telegram> or <telegram>"),
        ("see https://example.org/page?id=3", "see <url>"),
        ("BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "BTC <btc_address>"),
        ("pay 0x52908400098527886E0F7030069857D2E4169EE7", "pay <eth_address>"),
        (
            "-----BEGIN PGP PUBLIC KEY BLOCK----- mQINBF abc -----END PGP PUBLIC KEY BLOCK----- thanks",
            "<pgp_key> thanks",
        ),
        ("DM @some_vendor for prices", "DM <handle> for prices"),
    ],
)
def test_contact_identifiers_become_typed_placeholders(text: str, expected: str) -> None:
    assert scrub_contacts(text) == expected
    assert scrub_contacts(expected) == expected  # a placeholder is never read as a handle again


@pytest.mark.parametrize(
    "text",
    [
        "Xanax 2mg bars dosed @3mg",  # a dose, not a handle
        "Sodium chloride CAS 7647-14-5, 500 g",
        "Blue crystal rock candy 100g — novelty candy",
        "1.500.000 pesos incautados en el operativo",
        "a strong signal. The next step",
        "Ibuprofen 200mg 100 tablets — pain reliever / fever reducer",
        "M30 hex bolts, 10 pcs, zinc plated",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert scrub_contacts(text) == text


def test_slug_titles_labelled_descriptions_and_title_keywords(tmp_path: Path) -> None:
    m = repo_mirror(
        tmp_path,
        {
            "shop.csv": "Id,Producto,Laboratorio,Clasificacion\n"
            "1,tapsin-forte-paracetamol-650-mg-20-comprimidos,MAVER,invierno\n"
            "2,cebion-vitamina-c-1000-mg,P&amp;G,invierno\n",
            "labels.csv": "Medicamento,Principio activo,Tipo,PVP\n"
            "TRAMADOL CINFA Caps. 50 mg,TRAMADOL HIDROCLORURO,Medicamento Generico,2.50\n"
            "OTRO Comp.,-,Medicamento Etica,\n",
            "posts.csv": "title,subreddit\nDay 30 sober from fentanyl,TrueOffMyChest\nMy cat is sick,TrueOffMyChest\n",
        },
        clone=False,  # fetch leaves some repositories as a work tree's .git: read that as well
    )
    shop = {
        "paths": ["shop.csv"],
        "title_from_slug": True,
        "columns": {"title": "Producto", "seller": "Laboratorio", "category": "Clasificacion"},
        "source_kind": "shop",
        "lang": "es",
        "label_method": "pharmacy",
    }
    rows = {r.title: r for r in parse_table(m, "cv", shop)}
    assert set(rows) == {"tapsin forte paracetamol 650 mg 20 comprimidos", "cebion vitamina c 1000 mg"}
    assert rows["cebion vitamina c 1000 mg"].seller == "P&G"  # HTML entities decoded
    assert {r.lang for r in rows.values()} == {"es"}
    labels = {
        "paths": ["labels.csv"],
        "columns": {"title": "Medicamento", "price": "PVP", "description": ["Principio activo", "Tipo"]},
        "description_labels": {"Principio activo": "Principio activo", "Tipo": "Tipo"},
        "source_kind": "shop",
        "label_method": "drug label",
    }
    rows = {r.title: r for r in parse_table(m, "vm", labels)}
    tramadol = rows["TRAMADOL CINFA Caps. 50 mg"]
    assert tramadol.description == "Principio activo: TRAMADOL HIDROCLORURO. Tipo: Medicamento Generico."
    assert tramadol.price and tramadol.sale == 0
    assert rows["OTRO Comp."].description == "Tipo: Medicamento Etica."  # "-" is an empty cell
    posts = {
        "paths": ["posts.csv"],
        "columns": {"title": "title", "category": "subreddit"},
        "title_keywords": ["sober", "fentanyl"],
        "source_kind": "forum",
        "label_method": "forum post",
    }
    assert [r.title for r in parse_table(m, "rd", posts)] == ["Day 30 sober from fentanyl"]


def test_brand_and_product_titles_separator_files_and_empty_cells(tmp_path: Path) -> None:
    m = repo_mirror(
        tmp_path,
        {
            "all/medicamentos.csv": "Indice|Categoria|Marca|Descripcion|Precio\n"
            "0|medicamentos|Tapsin|Paracetamol 500 mg 16 Comprimidos|$1.990\n"
            "1|medicamentos|none|Suero Fisiologico 500 ml|$990\n",
            "shop.csv": "Productos,Precio,PrincipioActivo\nSalbutamol Jarabe 120 ML,12.0,Salbutamol 2 Mg\n"
            "Curitas x 20,3.0,No encontrado\n"
            '"Complejo B Forte,5.0,""TIAMINA 25 mg , RIBOFLAVINA 5 mg"""\n',  # a line quoted whole by its writer
        },
    )
    chile = {
        "paths": ["all/medicamentos.csv"],
        "separator": "|",
        "header": ["Indice", "Categoria", "Marca", "Descripcion", "Precio"],
        "columns": {"title": ["Marca", "Descripcion"], "price": "Precio", "category": "file"},
        "source_kind": "shop",
        "label_method": "pharmacy",
    }
    rows = list(parse_table(m, "sb", chile))
    # the file's own header line is no product; an empty brand cell leaves the product name alone
    assert [r.title for r in rows] == ["Tapsin Paracetamol 500 mg 16 Comprimidos", "Suero Fisiologico 500 ml"]
    assert all(r.price and r.sale == 0 for r in rows)
    assert rows[0].label_method == "pharmacy (medicamentos)"
    peru = {
        "paths": ["shop.csv"],
        "columns": {"title": "Productos", "price": "Precio", "description": "PrincipioActivo"},
        "description_labels": {"PrincipioActivo": "Principio activo"},
        "empty_values": ["No encontrado"],
        "source_kind": "shop",
        "label_method": "pharmacy",
    }
    rows = {r.title: r.description for r in parse_table(m, "hs", peru)}
    assert rows == {
        "Salbutamol Jarabe 120 ML": "Principio activo: Salbutamol 2 Mg.",
        "Curitas x 20": "",
        "Complejo B Forte": "Principio activo: TIAMINA 25 mg , RIBOFLAVINA 5 mg.",
    }


def _build_spec(commit: str, withdrawn: dict | None = None) -> dict:
    return {
        "version": 1,
        "seed": 3,
        "withdrawn": withdrawn or {},
        "sources": {
            "mkt": {
                "repo": "o/r",
                "commit": commit,
                "paths": ["m.csv"],
                "parser": "market_table",
                "columns": {"title": "title", "seller": "vendor", "price": "price", "description": "desc"},
                "category_columns": ["cat"],
                "categories": {"opioids": ["other_drug"]},
                "negative_categories": ["guides"],
                "source_kind": "market",
                "lookalike": "market_non_drug",
                "split": {"train": 0.8, "validation": 0.2},
                "label_method": "category",
            },
            "rx": {
                "repo": "o/r",
                "commit": commit,
                "paths": ["rx.csv"],
                "parser": "table",
                "columns": {"title": "name"},
                "source_kind": "shop",
                "lookalike": "pharmacy",
                "split": "test",
                "label_method": "pharmacy",
            },
        },
    }


def test_build_ships_placeholders_lookalike_kinds_and_honours_withdrawals(tmp_path: Path) -> None:
    mirrors, commit = mirror_of(
        tmp_path,
        {
            "m.csv": "title,vendor,price,desc,cat\n"
            '"Oxy 30mg x100",alice,$90,"wickr: alice_rx or alice@protonmail.com",opioids\n'
            '"Heroin 1g",bob,$60,"telegram @bobshop",opioids\n'
            '"Carding guide",carol,$5,"",guides\n',
            "rx.csv": "name\nParacetamol 500 mg 20 tablets\n",
        },
    )
    manifest = prepare(mirrors, tmp_path / "a", _build_spec(commit))
    rows = {r["title"]: r for r in map(json.loads, (tmp_path / "a" / "corpus.jsonl").read_text().splitlines())}
    assert rows["Oxy 30mg x100"]["description"] == "wickr: <wickr> or <email>"
    assert rows["Heroin 1g"]["description"] == "telegram <telegram>"
    assert rows["Oxy 30mg x100"]["lookalike"] == "" and rows["Carding guide"]["lookalike"] == "market_non_drug"
    assert rows["Paracetamol 500 mg 20 tablets"]["lookalike"] == "pharmacy"
    assert rows["Paracetamol 500 mg 20 tablets"]["split"] == "test"
    text = (tmp_path / "a" / "corpus.jsonl").read_text()
    assert "alice_rx" not in text and "protonmail" not in text and "bobshop" not in text
    assert manifest["shipped"]["mkt"]["placeholders"] == {"<email>": 1, "<telegram>": 1, "<wickr>": 1}
    assert manifest["shipped"]["mkt"]["rows"] == 3 and manifest["shipped"]["rx"]["lookalike"] == {"pharmacy": 1}

    bob = hashlib.sha256(b"bob").hexdigest()
    withdrawn = {"seller_sha256": [bob], "row_ids": [rows["Carding guide"]["id"]]}
    manifest = prepare(mirrors, tmp_path / "b", _build_spec(commit, withdrawn))
    titles = {json.loads(line)["title"] for line in (tmp_path / "b" / "corpus.jsonl").read_text().splitlines()}
    assert titles == {"Oxy 30mg x100", "Paracetamol 500 mg 20 tablets"}
    assert manifest["withdrawn"] == {"mkt": 2}


def test_shipped_snapshot_holds_no_contact_identifiers_and_names_every_lookalike_kind() -> None:
    rows = read_rows(SNAPSHOT_FILE)
    for row in rows:
        for field in ("title", "description", "seller"):
            assert scrub_contacts(row[field]) == row[field], (row["origin"], field, row[field][:200])
    spec = load_sources()["sources"]
    assert {r["origin"] for r in rows} == set(spec)
    for row in rows:
        assert row["lookalike"] == ("" if row["sale"] else spec[row["origin"]]["lookalike"])
    assert any(p in row["description"] for row in rows for p in PLACEHOLDERS)  # handles were there: now typed
    kinds = {r["lookalike"] for r in rows if r["split"] == "test" and not r["sale"]}
    assert {"pharmacy", "lab_chemical", "factsheet", "forum", "market_non_drug", "ordinary_goods"} <= kinds
    assert {r["lang"] for r in rows if r["lookalike"] == "pharmacy" and r["split"] == "test"} == {"en", "es"}
