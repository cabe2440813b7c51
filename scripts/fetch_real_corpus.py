"""Prepare the real-text corpus (issue #12) into the ignored cache.

Usage: python scripts/fetch_real_corpus.py [--mirrors DIR] [--out DIR] [--holdout SOURCE]

Reads each repository listed in classifiers/data/real_sources.yaml from a git mirror under
--mirrors (default /work/.mirror, laid out <owner>+<name>/repo; `git clone --mirror` makes one),
at the pinned commit, and writes --out/corpus.jsonl and --out/manifest.json (input and output
SHA-256). --holdout NAME builds a leave-one-market-out fold instead: NAME goes to test and every
other market that was held out is split by vendor into train and validation.
"""

import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.realcorpus import load_sources, prepare
from listingwatch.errors import ListingwatchError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path(".cache/real-corpus"))
    ap.add_argument("--holdout", help="Source to hold out as the test market (a leave-one-market-out fold).")
    args = ap.parse_args()
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
    print(json.dumps({"corpus_sha256": manifest["corpus_sha256"], "rows": manifest["rows"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
