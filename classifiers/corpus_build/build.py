"""The corpus build: parse every pinned source, cap, scrub, withdraw, split; write corpus, manifest, snapshot."""

import gzip
import hashlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

from classifiers.placeholders import placeholder_counts, scrub_contacts
from classifiers.realcorpus import SNAPSHOT_FILE
from core.digests import file_sha256
from core.errors import ListingwatchError

from .mirror import SOURCES_FILE, Mirror, load_sources, mirror_dir
from .parsers import PARSERS
from .rows import RealRow

SPLIT_NAMES = ("train", "validation", "test")


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


def shipped(row: RealRow, spec: dict) -> RealRow:
    """The row as it ships: contact identifiers replaced by typed placeholders, its look-alike kind set.

    A non-offer takes its source's `lookalike` kind (markets: `market_non_drug`); offers have none.
    """
    return replace(
        row,
        title=scrub_contacts(row.title),
        description=scrub_contacts(row.description),
        seller=scrub_contacts(row.seller),
        lookalike="" if row.sale else spec.get("lookalike", ""),
    )


def withdrawn(row: RealRow, withdrawals: dict) -> bool:
    """Whether a person or owner asked for this row to go: by row id, or by the SHA-256 of a seller name.

    Sellers are listed by hash so that the removal list does not publish the name it removes.
    """
    seller_hash = hashlib.sha256(row.seller.strip().lower().encode()).hexdigest()
    return row.id in set(withdrawals.get("row_ids") or []) or seller_hash in set(withdrawals.get("seller_sha256") or [])


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
    withdrawals = spec.get("withdrawn") or {}
    rows: list[RealRow] = []
    inputs: dict[str, dict] = {}
    removed: Counter = Counter()
    for name, src in spec["sources"].items():
        mirror = Mirror(mirror_dir(mirror_root, src["repo"]), src["commit"])
        seen: set[str] = set()
        got = []
        for row in PARSERS[src["parser"]](mirror, name, src):
            if row.id in seen:
                continue
            seen.add(row.id)
            if withdrawn(row, withdrawals):
                removed[name] += 1
                continue
            got.append(shipped(row, src))
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
        "shipped": {name: source_figures([r for r in rows if r.origin == name]) for name in spec["sources"]},
        "withdrawn": dict(removed),
        "inputs": inputs,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def source_figures(rows: list[RealRow]) -> dict:
    """What one source ships, for the data card: rows, text sizes, descriptions, placeholders per type."""
    desc = [len(r.description) for r in rows if r.description]
    placeholders: Counter = Counter()
    for r in rows:
        placeholders.update(placeholder_counts(f"{r.title} {r.description} {r.seller}"))
    return {
        "rows": len(rows),
        "chars": sum(len(r.title) + len(r.description) + len(r.seller) for r in rows),
        "with_description": len(desc),
        "description_max_chars": max(desc, default=0),
        "with_seller": sum(1 for r in rows if r.seller),
        "lookalike": dict(Counter(r.lookalike for r in rows if r.lookalike)),
        "lang": dict(Counter(r.lang for r in rows)),
        "placeholders": dict(sorted(placeholders.items())),
    }


def write_snapshot(corpus: Path, dest: Path = SNAPSHOT_FILE) -> str:
    """Write the shipped copy of a built corpus (gzip, no timestamp: same rows give the same bytes); its SHA-256.

    A fresh machine has no mirrors, so `make demo` trains on this copy; it holds the rows the
    build wrote (already scrubbed of contact identifiers), nothing else, and is refreshed only by
    `fetch_real_corpus.py --snapshot`.
    """
    tmp = dest.with_name(dest.name + ".part")
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(corpus.read_bytes())
    tmp.replace(dest)
    return file_sha256(dest)


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
