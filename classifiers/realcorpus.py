"""Real text for training and evaluation, prepared reproducibly from public repositories.

Generated template families taught the model the wrappers of our own writing (sale cues,
handles, emoji); real market titles are terse ("10 GR. CRYSTAL METH") and real look-alikes are
long and factual. `prepare` turns mirrored repositories, at the commits pinned in
`data/real_sources.yaml`, into one JSONL corpus with weak labels from each source's own
metadata (a market's category tree) or a stated rule, and a manifest with the SHA-256 of
every input and of the output, so a corpus can be rebuilt and checked. `load_real` reads it
back as `Example`s with the split each source's role gives them: whole markets are held out
for the test split (leave-one-market-out), other sources are split by group (vendor, article).

The build writes into the ignored cache. A fresh machine has no mirrors, so the built rows (short
market titles, article excerpts, catalogue names; never the raw dumps) are also shipped as
`data/real_corpus.jsonl.gz`, which full training uses by default; `tests/files/real_sample.jsonl`
holds a small hand-reviewed sample in the same format.
"""

import csv
import gzip
import hashlib
import io
import json
import random
import re
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from core.errors import ListingwatchError
from core.labels import SUBSTANCES
from core.lexicon import load_lexicon, match_text

DATA_DIR = Path(__file__).resolve().parent / "data"
SOURCES_FILE = DATA_DIR / "real_sources.yaml"
SNAPSHOT_FILE = DATA_DIR / "real_corpus.jsonl.gz"  # the built corpus as shipped (data card)
SPLIT_NAMES = ("train", "validation", "test")
_JUNK = re.compile(r"[^\x20-\x7e\u00a0-\u024f\u2018-\u201d€£]+")  # mojibake of emoji in the market dump
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RealRow:
    """One labelled real text, as written to the corpus JSONL."""

    id: str
    origin: str  # source name in real_sources.yaml
    source_kind: str
    title: str
    description: str
    seller: str
    price: bool
    sale: int
    substances: list[str]
    group: str
    label_method: str
    lang: str = "en"


@lru_cache(maxsize=1)
def load_sources(path: Path = SOURCES_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ reading mirrors


class Mirror:
    """Files of one repository at one commit, read from a bare git mirror; every blob read is hashed."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir, self.commit = git_dir, commit
        self.hashes: dict[str, str] = {}

    def _git(self, *args: str) -> bytes:
        try:
            return subprocess.run(
                ["git", "--git-dir", str(self.git_dir), *args], check=True, capture_output=True
            ).stdout
        except subprocess.CalledProcessError as err:
            raise ListingwatchError(
                f"Cannot read {self.git_dir} at {self.commit}: {err.stderr.decode(errors='replace').strip()}."
            ) from None

    def files(self, prefix: str) -> list[str]:
        out = self._git("ls-tree", "-r", "--name-only", self.commit, "--", prefix).decode()
        return sorted(p for p in out.splitlines() if p)

    def read(self, path: str) -> bytes:
        data = self._git("show", f"{self.commit}:{path}")
        self.hashes[path] = hashlib.sha256(data).hexdigest()
        return data


def mirror_dir(root: Path, repo: str) -> Path:
    """Where `fetch` mirrors a repository: <root>/<owner>+<name>/repo."""
    return root / repo.replace("/", "+") / "repo"


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _JUNK.sub(" ", text or "")).strip()


def _row_id(origin: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((origin, *parts)).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ parsers (one per source format)


def _not_offer(name: str, spec: dict, title: str, description: str, group: str) -> RealRow:
    """A look-alike text with no seller or price (an article section, a catalogue entry): never an offer."""
    return RealRow(
        id=_row_id(name, title),
        origin=name,
        source_kind=spec["source_kind"],
        title=title,
        description=description[:1200],
        seller="",
        price=False,
        sale=0,
        substances=[],
        group=group,
        label_method=spec["label_method"],
    )


def _keyword_substances(title: str, spec: dict) -> set[str]:
    """Synthetic classes named outright in a title; refines a coarse market category."""
    low = title.lower()
    out = set()
    for name, words in (spec.get("title_keywords") or DEFAULT_TITLE_KEYWORDS).items():
        for w in words:
            for match in re.finditer(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z])", low):
                if not _COMPARED.search(low[: match.start()]):  # "isotonitazene (stronger than fent)"
                    out.add(name)
    return out


_COMPARED = re.compile(r"(?:\bthan|\blike|\bsimilar to|\balternative to|\binstead of)\s*$")


DEFAULT_TITLE_KEYWORDS = {
    "fentanyl": ["fentanyl", "fentanil", "fent", "carfentanil", "acetylfentanyl", "furanylfentanyl"],
    "nitazene": ["nitazene", "isotonitazene", "protonitazene", "metonitazene", "etonitazene"],
    "methamphetamine": ["meth", "methamphetamine", "crystal meth", "ice shards", "d-meth"],
}


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
            title = _clean(rec.get("listing_title") or "")
            if not title or title == "null":
                continue
            row_subs = set(subs)
            if sale:
                row_subs |= _keyword_substances(title, spec)
                if len(row_subs) > 1:
                    row_subs.discard("other_drug")
            vendor = _clean(rec.get("listing_vendor") or "")
            price = "USD" in (rec.get("listing_price") or "")
            yield RealRow(
                id=_row_id(name, title, vendor),
                origin=name,
                source_kind=spec["source_kind"],
                title=title,
                description="",
                seller=vendor,
                price=price,
                sale=sale,
                substances=sorted(row_subs),
                group=vendor or title,
                label_method=method,
            )


def parse_anita_json(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if not path.endswith("_product.txt"):
                continue
            for rec in json.loads(m.read(path)).values():
                page = rec.get("page_data") or {}
                title = _clean(page.get("name") or "")
                if not title:
                    continue
                info = _clean(page.get("info") or "")[:1500]
                vendor = _clean(page.get("vendor") or "")
                if spec.get("fixed_label") and any(p in path for p in spec.get("fixed_label_paths") or [""]):
                    sale, subs, method = 1, set(spec["fixed_label"]), spec["label_method"]
                else:
                    labelled = rule_label(title, spec.get("rule") or {})
                    if labelled is None:
                        continue
                    sale, subs, method = labelled
                yield RealRow(
                    id=_row_id(name, title, vendor),
                    origin=name,
                    source_kind=spec["source_kind"],
                    title=title,
                    description=info,
                    seller=vendor,
                    price=bool(page.get("price")),
                    sale=sale,
                    substances=sorted(subs),
                    group=vendor or title,
                    label_method=method,
                )


_GENERIC_METH = frozenset({"crystal", "crystals", "ice", "glass", "shard", "shards", "speed", "cristal"})
# Street words that are also ordinary words: on their own, next to other goods, they do not name a drug.
_GENERIC = _GENERIC_METH | {"bars", "bar", "blues", "press", "pressed", "snow", "gas", "dope", "acid", "pack", "tabs"}


def _any_word(text: str, words: list[str]) -> bool:
    low = text.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", low) for w in words)


def rule_label(title: str, rule: dict) -> tuple[int, set[str], str] | None:
    """Label a market title without a category: an offer if it names a drug, not one if it names other goods.

    Only for sources without a category tree. The rule reads the title alone (descriptions list
    everything a vendor stocks). Titles it cannot decide return None and are left out.
    """
    if _any_word(title, rule.get("excluded_keywords") or []):
        return None  # goods outside the project's scope either way (steroids, erectile-dysfunction pills, CBD)
    hits = [h for h in match_text(title, load_lexicon(), "title") if h.category in SUBSTANCES]
    classes = {h.category for h in hits}
    meth_terms = {h.term.lower() for h in hits if h.category == "methamphetamine"}
    if classes - {"methamphetamine"} and meth_terms and meth_terms <= _GENERIC_METH:
        classes.discard("methamphetamine")  # "MDMA crystals", "ketamine shards": the crystal is not meth
    generic_only = all(h.term.lower() in _GENERIC for h in hits)
    if (not classes or generic_only) and _any_word(title, rule.get("not_sale_keywords") or []):
        return 0, set(), "title rule: other goods named, no drug"
    if classes:
        if len(classes) > 1:
            classes.discard("other_drug")
        return 1, classes, "title rule: controlled-drug name in title"
    if _any_word(title, rule.get("sale_keywords") or []):
        return 1, {"other_drug"}, "title rule: drug keyword in title"
    return None


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
        title = _clean(title_m.group(1)) if title_m else Path(path).stem
        body = _clean(re.sub(r"(?m)^#.*$|^\*Source:.*$", "", head))
        article = Path(path).parent.name
        chunks = [(title, body)]
        for sec in sections[1:]:
            heading = sec.splitlines()[0].lstrip("# ").strip()
            if _CHEM.search(heading):
                chunks.append((f"{title}: {heading}", _clean(sec.split("\n", 1)[-1])))
        for t, desc in chunks:
            if len(desc) < 80:
                continue
            yield _not_offer(name, spec, t, desc, group=article)


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
    title = _clean(rec["name"])
    cas = rec.get("cas_number")
    desc = _clean(rec.get("description", "")) + (f" CAS {cas}" if cas else "")
    yield _not_offer(name, spec, title, desc, group=title)


def _cell(rec: dict, col: str | None) -> str:
    return _clean(str(rec.get(col) or "")) if col else ""


def _has_price(value: str) -> bool:
    return bool(re.search(r"\d", value or ""))


def _table_records(m: Mirror, path: str, spec: dict) -> Iterator[dict]:
    """Rows of one CSV or JSON file as dicts (a header-less CSV takes its column names from `header`; a file
    whose fields are joined by a multi-character `separator`, one record a line, needs `header` too)."""
    text = m.read(path).decode("utf-8-sig", errors="replace")
    if spec.get("format", "csv") == "json":
        data = json.loads(text)
        yield from (data.values() if isinstance(data, dict) else data)
        return
    if spec.get("separator"):
        for line in text.splitlines():
            if line.strip():
                yield dict(zip(spec["header"], (v.strip() for v in line.split(spec["separator"])), strict=False))
        return
    csv.field_size_limit(1 << 24)
    yield from csv.DictReader(io.StringIO(text, newline=None), fieldnames=spec.get("header"))


def parse_table(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    """Generic CSV/JSON table: which column is the title, description, seller, price, group and category
    is configured in the source's `columns`; every row takes the source's fixed label (never an offer here)."""
    cols = spec["columns"]
    desc_cols = cols.get("description") or []
    desc_cols = [desc_cols] if isinstance(desc_cols, str) else desc_cols
    suffix = spec.get("file_suffix", ".csv")
    skip = set(spec.get("exclude_categories") or [])
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if not path.endswith(suffix):
                continue
            for rec in _table_records(m, path, spec):
                title = _cell(rec, cols["title"])[:300]
                if not title or title.lower() in ("null", "none", "nan"):
                    continue
                if cols.get("category") == "file":
                    category = Path(path).stem
                else:
                    category = _cell(rec, cols.get("category"))
                    category = re.split(r"\s*>>\s*", category.strip("[]\"' "))[0].strip() if category else ""
                if category in skip:
                    continue
                parts = []
                for col in desc_cols:
                    value = _cell(rec, col).strip("[]\"' ")
                    if value and value.lower() not in ("none", "nan", "null"):
                        parts.append(value)
                desc = " ".join(parts)[:1200]
                seller = _cell(rec, cols.get("seller"))
                method = spec["label_method"] + (f" ({category})" if category else "")
                yield RealRow(
                    id=_row_id(name, title, seller),
                    origin=name,
                    source_kind=spec["source_kind"],
                    title=title,
                    description=desc,
                    seller=seller,
                    price=_has_price(_cell(rec, cols.get("price"))),
                    sale=0,
                    substances=[],
                    group=_cell(rec, cols.get("group")) or title,
                    label_method=method,
                )


def _category_key(rec: dict, cols: list[str], strip: str) -> str:
    """A row's category path from one or more columns: "Benzos", "Pills" -> "benzos/pills"."""
    parts = []
    for col in cols:
        value = _cell(rec, col).strip(strip).strip().lower()
        if value:
            parts.append(re.sub(r"\s+", "_", value))
    return "/".join(parts)


def category_label(key: str, spec: dict) -> tuple[int, set[str]] | None:
    """Label for a market category path by the most specific entry of `categories` (offers, with their classes),
    `negative_categories` (other goods: sale 0) or `excluded` (ambiguous: None); a path no entry covers is None."""
    best: tuple[int, int, set[str] | None] | None = None  # (prefix length, sale, classes)
    entries = [(k, 1, set(v)) for k, v in (spec.get("categories") or {}).items()]
    entries += [(k, 0, set()) for k in spec.get("negative_categories") or []]
    entries += [(k, -1, None) for k in spec.get("excluded") or []]
    for prefix, sale, subs in entries:
        covers = key == prefix or key.startswith(prefix + "/")
        if covers and (best is None or len(prefix) > best[0]):
            best = (len(prefix), sale, subs)
    if best is None or best[1] < 0:
        return None
    return best[1], set(best[2] or ())


def parse_market_table(m: Mirror, name: str, spec: dict) -> Iterator[RealRow]:
    """A market's listings as a CSV (or `separator`-joined) table with a category per row: `columns` maps title,
    description, seller, price; `category_columns` give the category path, which `category_label` turns into
    a label. Offers naming fentanyl, nitazenes or meth in the title get that class as well (as in dnm-2017)."""
    cols = spec["columns"]
    suffix = spec.get("file_suffix", ".csv")
    strip = spec.get("category_strip", "")
    for prefix in spec["paths"]:
        for path in m.files(prefix):
            if not path.endswith(suffix):
                continue
            for rec in _table_records(m, path, spec):
                title = _cell(rec, cols["title"])[:300]
                if not title or title.lower() in ("null", "none", "nan"):
                    continue
                key = _category_key(rec, spec["category_columns"], strip)
                labelled = category_label(key, spec)
                if labelled is None:
                    continue
                sale, subs = labelled
                if sale:
                    subs |= _keyword_substances(title, spec)
                    if len(subs) > 1:
                        subs.discard("other_drug")
                seller = _cell(rec, cols.get("seller"))
                yield RealRow(
                    id=_row_id(name, title, seller),
                    origin=name,
                    source_kind=spec["source_kind"],
                    title=title,
                    description=_cell(rec, cols.get("description"))[:1200],
                    seller=seller,
                    price=_has_price(_cell(rec, cols.get("price"))),
                    sale=sale,
                    substances=sorted(subs),
                    group=seller or title,
                    label_method=f"category {key}" + ("" if sale else " (not drugs)"),
                )


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
                title = _clean(rec.get(fields["title"], ""))[:300]
                if not title:
                    continue
                desc = ". ".join(
                    f"{label}: {_clean(rec[key])}" for label, key in fields.items() if label != "title" and rec.get(key)
                )
                yield _not_offer(name, spec, title, desc, group=title)


PARSERS = {
    "table": parse_table,
    "market_table": parse_market_table,
    "ts_records": parse_ts_records,
    "dnm_csv": parse_dnm_csv,
    "anita_json": parse_anita_json,
    "article_md": parse_article_md,
    "tradeflow_ts": parse_tradeflow_ts,
}


# ------------------------------------------------------------------ corpus build


def _cap(rows: list[RealRow], caps: dict | None, rng: random.Random) -> list[RealRow]:
    """At most `caps[sale|not_sale]` rows of each label, drawn evenly across label methods (categories).

    `caps.fill: round_robin` fills the cap from the larger categories once the small ones run out.
    """
    if not caps:
        return rows
    out: list[RealRow] = []
    for label, key in ((1, "sale"), (0, "not_sale")):
        pool = [r for r in rows if r.sale == label]
        cap = caps.get(key)
        if cap is None or len(pool) <= cap:
            out.extend(pool)
            continue
        by_method: dict[str, list[RealRow]] = defaultdict(list)
        for r in pool:
            by_method[r.label_method].append(r)
        queues = []
        for method in sorted(by_method):
            items = by_method[method]
            rng.shuffle(items)
            queues.append(items)
        if caps.get("fill") == "round_robin":
            # even across categories, and small categories leave their room to the others
            picked = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
        else:  # an equal share per category (small categories leave the cap unfilled)
            share = max(1, cap // len(queues))
            picked = [r for q in queues for r in q[:share]]
        out.extend(picked[:cap])
    return out


def prepare(mirror_root: Path, out_dir: Path, sources: dict | None = None) -> dict:
    """Build `corpus.jsonl` + `manifest.json` in `out_dir` from mirrors under `mirror_root`; returns the manifest.

    Missing mirrors are reported all at once with the command that brings them.
    """
    spec = sources or load_sources()
    rng = random.Random(spec["seed"])
    missing = sorted({s["repo"] for s in spec["sources"].values() if not mirror_dir(mirror_root, s["repo"]).is_dir()})
    if missing:
        raise ListingwatchError(
            f"No mirror of {', '.join(missing)} under {mirror_root}; mirror each at the commit in "
            f"{SOURCES_FILE.name} (`git clone --mirror https://github.com/OWNER/NAME {mirror_root}/OWNER+NAME/repo`)."
        )
    rows: list[RealRow] = []
    inputs: dict[str, dict] = {}
    for name, src in spec["sources"].items():
        mirror = Mirror(mirror_dir(mirror_root, src["repo"]), src["commit"])
        seen: set[str] = set()
        got = []
        for row in PARSERS[src["parser"]](mirror, name, src):
            if row.id not in seen:
                seen.add(row.id)
                got.append(row)
        got = _cap(got, src.get("max_rows"), rng)
        rows.extend(sorted(got, key=lambda r: r.id))
        inputs[name] = {"repo": src["repo"], "commit": src["commit"], "files": mirror.hashes}
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / "corpus.jsonl"
    tmp = corpus.with_suffix(".part")
    records = [r.__dict__ for r in rows]
    splits = assign_real_splits(records, spec, seed=spec["seed"])
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({**rec, "split": splits[rec["id"]]}, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(corpus)
    manifest = {
        "sources_version": spec["version"],
        "seed": spec["seed"],
        "corpus_sha256": file_sha256(corpus),
        "holdout": spec.get("holdout"),
        "rows": {
            name: dict(Counter(f"{splits[r.id]}/{'sale' if r.sale else 'not_sale'}" for r in rows if r.origin == name))
            for name in spec["sources"]
        },
        "inputs": inputs,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------ reading the corpus back


def write_snapshot(corpus: Path, dest: Path = SNAPSHOT_FILE) -> str:
    """Write the shipped copy of a built corpus (gzip, no timestamp: same rows give the same bytes); its SHA-256.

    A fresh machine has no mirrors, so `make demo` trains on this copy; it holds the rows the
    build wrote, nothing else, and is refreshed only by `fetch_real_corpus.py --snapshot`.
    """
    tmp = dest.with_name(dest.name + ".part")
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(corpus.read_bytes())
    tmp.replace(dest)
    return file_sha256(dest)


def read_rows(path: Path) -> list[dict]:
    try:
        data = path.read_bytes()
        lines = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8").splitlines()
    except OSError as err:
        raise ListingwatchError(
            f"Cannot read real corpus {path}: {err.strerror}; build it with `python scripts/fetch_real_corpus.py`."
        ) from None
    return [json.loads(line) for line in lines if line.strip()]


def assign_real_splits(rows: list[dict], sources: dict | None = None, seed: int = 0) -> dict[str, str]:
    """Row id -> split: whole held-out sources go to test; the rest by group, in the source's shares."""
    spec = (sources or load_sources())["sources"]
    out: dict[str, str] = {}
    for row in rows:
        role = spec.get(row["origin"], {}).get("split", "test")
        if isinstance(role, str):
            out[row["id"]] = role
            continue
        rank = int(hashlib.sha256(f"{seed}:{row['origin']}:{row['group']}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        acc = 0.0
        out[row["id"]] = "train"
        for name in SPLIT_NAMES:
            acc += float(role.get(name, 0.0))
            if rank < acc:
                out[row["id"]] = name
                break
    return out
