"""The shipped real-text corpus, as training and evaluation read it.

The corpus is built from pinned public repositories by the build tool in `classifiers.corpus_build`
(`scripts/fetch_real_corpus.py`); training never imports that tool. What ships and how it was made
is in docs/data_card.md.
"""

import gzip
import json
from pathlib import Path

from core.digests import file_sha256 as file_sha256  # training reads it from here
from core.errors import ListingwatchError

SNAPSHOT_FILE = Path(__file__).resolve().parent / "data" / "real_corpus.jsonl.gz"


def read_rows(path: Path) -> list[dict]:
    """Rows of a built corpus: the plain JSONL the build writes, or the gzipped snapshot."""
    try:
        data = path.read_bytes()
        lines = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8").splitlines()
    except OSError as err:
        raise ListingwatchError(
            f"Cannot read real corpus {path}: {err.strerror}; build it with `python scripts/fetch_real_corpus.py`."
        ) from None
    return [json.loads(line) for line in lines if line.strip()]
