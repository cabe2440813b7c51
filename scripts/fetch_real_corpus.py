"""Prepare the real-text corpus (issue #12) into the ignored cache.

Usage: python scripts/fetch_real_corpus.py [--mirrors DIR] [--out DIR] [--holdout SOURCE] [--snapshot]

Reads each repository listed in classifiers/data/real_sources.yaml from a git mirror under
--mirrors (default /work/.mirror, laid out <owner>+<name>/repo; `git clone --mirror` makes one),
at the pinned commit, and writes --out/corpus.jsonl and --out/manifest.json (input and output
SHA-256). --holdout NAME builds a leave-one-market-out fold instead: NAME goes to test and every
other market that was held out is split by vendor into train and validation. --snapshot also
refreshes the shipped copy, classifiers/data/real_corpus.jsonl.gz, that full training uses on a
machine without mirrors (commit it with the data card's rows updated).
"""

import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.corpus_build.build import prepare, write_snapshot
from classifiers.corpus_build.mirror import load_sources
from classifiers.realcorpus import SNAPSHOT_FILE
from core.errors import ListingwatchError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path(".cache/real-corpus"))
    ap.add_argument("--holdout", help="Source to hold out as the test market (a leave-one-market-out fold).")
    ap.add_argument("--snapshot", action="store_true", help=f"Also write the shipped copy, {SNAPSHOT_FILE.name}.")
    args = ap.parse_args()
    if args.snapshot and args.holdout:
        print("--snapshot ships the standard build; run it without --holdout.", file=sys.stderr)
        return 2
    spec = copy.deepcopy(load_sources())
    if args.holdout:
        markets = {n for n, s in spec["sources"].items() if s["source_kind"] == "market"}
        if args.holdout not in markets:
            print(f"--holdout must be one of the markets: {', '.join(sorted(markets))}.", file=sys.stderr)
            return 2
        for name in markets:
            spec["sources"][name]["split"] = "test" if name == args.holdout else {"train": 0.8, "validation": 0.2}
        spec["holdout"] = args.holdout
    try:
        manifest = prepare(args.mirrors, args.out, spec)
    except ListingwatchError as err:
        print(err, file=sys.stderr)
        return 1
    summary = {"corpus_sha256": manifest["corpus_sha256"], "rows": manifest["rows"]}
    if args.snapshot:
        summary["snapshot"] = {"path": str(SNAPSHOT_FILE), "sha256": write_snapshot(args.out / "corpus.jsonl")}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
