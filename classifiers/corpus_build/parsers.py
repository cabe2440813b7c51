"""One parser per source format: each reads a source's files from its mirror and yields labelled rows.

Which parser a source uses, and its columns, labels and caps, are set in `real_sources.yaml`.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

from .labelling import any_word, category_label, offer_substances, rule_label
from .mirror import Mirror
from .rows import Label, RealRow, cell, clean, has_price, not_offer, source_row


def parse_dnm_csv(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    cats, negatives, excluded = spec["categories"], spec["negative_prefixes"], set(spec["excluded"])
    for path in m.files(spec["paths"][0]):
        if not path.endswith(".csv"):
            continue
        stem = Path(path).name.lower().replace(" ", "_")
        parts = stem.split("_-_")
        key = "/".join(parts[1:3]) if parts[0] == "d&c" else ""
        if key in excluded:
            continue
        if key in cats:
            sale, subs, method = 1, set(cats[key]), f"category {key}"
        elif any(stem.startswith(p) for p in negatives):
            sale, subs, method = 0, set(), f"category {parts[0]} (not drugs)"
        else:
            continue
        text = m.read(path).decode("utf-8", errors="replace")
        for rec in csv.DictReader(io.StringIO(text, newline=None)):
            title = clean(rec.get("listing_title") or "")
            if not title or title == "null":
                continue
            row_subs = offer_substances(subs, title, spec) if sale else set(subs)
            vendor = clean(rec.get("listing_vendor") or "")
            price = "USD" in (rec.get("listing_price") or "")
            yield source_row(name, spec, title, "", vendor, price=price, label=(sale, row_subs, method))


def parse_anita_json(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if not path.endswith("_product.txt"):
                continue
            for rec in json.loads(m.read(path)).values():
                page = rec.get("page_data") or {}
                title = clean(page.get("name") or "")
                if not title:
                    continue
                info = clean(page.get("info") or "")[:1500]
                vendor = clean(page.get("vendor") or "")
                label: Label | None
                if spec.get("fixed_label") and any(p in path for p in spec.get("fixed_label_paths") or [""]):
                    label = (1, set(spec["fixed_label"]), spec["label_method"])
                else:
                    label = rule_label(title, spec.get("rule") or {})
                if label is not None:
                    yield source_row(name, spec, title, info, vendor, price=bool(page.get("price")), label=label)


_HEADING = re.compile(r"^#+\s*(.+)$", re.MULTILINE)


_CHEM = re.compile(r"(?i)synthesis|chemistry|production|manufactur|pharmacology")


def parse_article_md(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    for path in m.files(spec["paths"][0]):
        if not Path(path).name.startswith(spec["file_prefix"]) or not path.endswith(".md"):
            continue
        text = m.read(path).decode("utf-8", errors="replace")
        sections = re.split(r"\n(?=## )", text)
        head = sections[0]
        title_m = _HEADING.search(head)
        title = clean(title_m.group(1)) if title_m else Path(path).stem
        body = clean(re.sub(r"(?m)^#.*$|^\*Source:.*$", "", head))
        article = Path(path).parent.name
        chunks = [(title, body)]
        for sec in sections[1:]:
            heading = sec.splitlines()[0].lstrip("# ").strip()
            if _CHEM.search(heading):
                chunks.append((f"{title}: {heading}", clean(sec.split("\n", 1)[-1])))
        for t, desc in chunks:
            if len(desc) < 80:
                continue
            yield not_offer(name, spec, t, desc, group=article)


_TS_FIELD = re.compile(r"^\s{6}(name|description|cas_number):\s*\n?\s*'((?:[^'\\]|\\.)*)'", re.MULTILINE)


def parse_tradeflow_ts(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    text = m.read(spec["paths"][0]).decode("utf-8", errors="replace")
    current: dict[str, str] = {}
    for match in _TS_FIELD.finditer(text):
        key, value = match.group(1), match.group(2).replace("\\'", "'")
        if key == "name" and current.get("name"):
            yield from _tradeflow_row(name, spec, current)
            current = {}
        current[key] = value
    if current.get("name"):
        yield from _tradeflow_row(name, spec, current)


def _tradeflow_row(name: str, spec: dict, rec: dict[str, str]) -> Iterator[RealRow]:
    title = clean(rec["name"])
    cas = rec.get("cas_number")
    desc = clean(rec.get("description", "")) + (f" CAS {cas}" if cas else "")
    yield not_offer(name, spec, title, desc, group=title)


def _table_records(m: Mirror, spec: dict) -> Iterator[tuple[str, dict]]:
    """(path, record) for every record of the source's table files (under `paths`, ending in `file_suffix`)."""
    suffix = spec.get("file_suffix", ".csv")
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if path.endswith(suffix):
                yield from ((path, rec) for rec in _file_records(m, path, spec))


def _no_title(title: str) -> bool:
    return not title or title.lower() in ("null", "none", "nan")


def _file_records(m: Mirror, path: str, spec: dict) -> Iterator[dict]:
    """Rows of one CSV or JSON file as dicts (a header-less CSV takes its column names from `header`; a file
    whose fields are joined by a multi-character `separator`, one record a line, needs `header` too)."""
    text = m.read(path).decode("utf-8-sig", errors="replace")
    if spec.get("format", "csv") == "json":
        data = json.loads(text)
        yield from (data.values() if isinstance(data, dict) else data)
        return
    if spec.get("separator"):
        for line in text.splitlines():
            values = [v.strip() for v in line.split(spec["separator"])]
            if line.strip() and values != spec["header"]:  # a header line in the file itself is not a record
                yield dict(zip(spec["header"], values, strict=False))
        return
    csv.field_size_limit(1 << 24)
    reader = csv.DictReader(io.StringIO(text, newline=None), fieldnames=spec.get("header"))
    for rec in reader:
        yield _unquoted_line(rec, reader.fieldnames or [])


def _unquoted_line(rec: dict, names: list[str]) -> dict:
    """A record whose whole line was quoted as one field (`"name,12.0,""a, b"",shop"`), read again as a row.

    Some scrapers wrote a row already joined into one string; the CSV reader then puts the whole
    line in the first column and leaves the others empty.
    """
    first, *rest = (rec.get(n) for n in names) if names else (None,)
    if not first or len(names) < 2 or any(rest) or "," not in first:
        return rec
    values = next(csv.reader([first]), [])
    return dict(zip(names, values, strict=False)) if len(values) == len(names) else rec


def parse_table(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    """Generic CSV/JSON table: which column is the title, description, seller, price, group and category
    is configured in the source's `columns`; every row takes the source's fixed label (never an offer here).

    `title_from_slug` reads a URL slug as the title ("tapsin-forte-650-mg" -> "tapsin forte 650 mg");
    a list of title columns is joined as the shop shows them (brand, then product: "Tapsin Paracetamol 500 mg");
    `description_labels` writes each description column as "Label: value" (a drug label's fields);
    `empty_values` names what a source writes in an empty cell ("No encontrado"), besides none/nan/null/-;
    `title_keywords` keeps only titles naming one of the words (the drug-related posts of a general forum).
    """
    cols = spec["columns"]
    title_cols = [cols["title"]] if isinstance(cols["title"], str) else cols["title"]
    empty = {"none", "nan", "null", "-", *(v.lower() for v in spec.get("empty_values") or [])}
    labels = spec.get("description_labels") or {}
    wanted = spec.get("title_keywords")
    desc_cols = cols.get("description") or []
    desc_cols = [desc_cols] if isinstance(desc_cols, str) else desc_cols
    skip = set(spec.get("exclude_categories") or [])
    for path, rec in _table_records(m, spec):
        title = " ".join(v for v in (cell(rec, c) for c in title_cols) if v.lower() not in empty)[:300]
        if spec.get("title_from_slug"):
            title = clean(title.replace("-", " ").replace("_", " "))
        if _no_title(title):
            continue
        if wanted and not any_word(title, wanted):
            continue
        if cols.get("category") == "file":
            category = Path(path).stem
        else:
            category = cell(rec, cols.get("category"))
            category = re.split(r"\s*>>\s*", category.strip("[]\"' "))[0].strip() if category else ""
        if category in skip:
            continue
        parts = []
        for col in desc_cols:
            value = cell(rec, col).strip("[]\"' ")
            if value and value.lower() not in empty:
                parts.append(f"{labels[col]}: {value}." if col in labels else value)
        desc = " ".join(parts)[:1200]
        seller = cell(rec, cols.get("seller"))
        method = spec["label_method"] + (f" ({category})" if category else "")
        yield source_row(
            name,
            spec,
            title,
            desc,
            seller,
            price=has_price(cell(rec, cols.get("price"))),
            label=(0, set(), method),
            group=cell(rec, cols.get("group")) or title,
        )


def _category_key(rec: dict, cols: list[str], strip: str) -> str:
    """A row's category path from one or more columns: "Benzos", "Pills" -> "benzos/pills"."""
    parts = []
    for col in cols:
        value = cell(rec, col).strip(strip).strip().lower()
        if value:
            parts.append(re.sub(r"\s+", "_", value))
    return "/".join(parts)


def parse_market_table(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    """A market's listings as a CSV (or `separator`-joined) table with a category per row: `columns` maps title,
    description, seller, price; `category_columns` give the category path, which `category_label` turns into
    a label. Offers naming fentanyl, nitazenes or meth in the title get that class as well (as in dnm-2017)."""
    cols = spec["columns"]
    strip = spec.get("category_strip", "")
    for _path, rec in _table_records(m, spec):
        title = cell(rec, cols["title"])[:300]
        if _no_title(title):
            continue
        key = _category_key(rec, spec["category_columns"], strip)
        labelled = category_label(key, spec)
        if labelled is None:
            continue
        sale, subs = labelled
        if sale:
            subs = offer_substances(subs, title, spec)
        seller = cell(rec, cols.get("seller"))
        method = f"category {key}" + ("" if sale else " (not drugs)")
        description = cell(rec, cols.get("description"))[:1200]
        price = has_price(cell(rec, cols.get("price")))
        yield source_row(name, spec, title, description, seller, price=price, label=(sale, subs, method))


_TS_PAIR = re.compile(
    r"""^\s*["']?([A-Za-z][\w #]*?)["']?\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'),?\s*$""", re.MULTILINE
)


def parse_ts_records(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    """Records in a JS/TS data module: `key: "value"` lines; `record_key` starts a record; the first value of
    each field in `fields` (title, then description fields as "Label: value") is kept."""
    fields: dict[str, str] = spec["fields"]  # output label -> source key; "title" names the title key
    start = spec["record_key"]
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if not path.endswith((".ts", ".js")):
                continue
            text = m.read(path).decode("utf-8", errors="replace")
            records: list[dict[str, str]] = []
            for match in _TS_PAIR.finditer(text):
                key = match.group(1)
                value = (match.group(2) if match.group(2) is not None else match.group(3)).replace("\\'", "'")
                value = value.replace('\\"', '"')
                if key == start:
                    records.append({})
                if records and key in fields.values() and key not in records[-1]:
                    records[-1][key] = value
            for rec in records:
                title = clean(rec.get(fields["title"], ""))[:300]
                if not title:
                    continue
                desc = ". ".join(
                    f"{label}: {clean(rec[key])}" for label, key in fields.items() if label != "title" and rec.get(key)
                )
                yield not_offer(name, spec, title, desc, group=title)


PARSERS = {
    "table": parse_table,
    "market_table": parse_market_table,
    "ts_records": parse_ts_records,
    "dnm_csv": parse_dnm_csv,
    "anita_json": parse_anita_json,
    "article_md": parse_article_md,
    "tradeflow_ts": parse_tradeflow_ts,
}
