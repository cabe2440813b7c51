"""Turning listing text into model inputs the same way in training, export and inference.

Listings put the telling words at both ends (a title up front, contacts and payment at the
end), so long texts keep their head and their tail instead of being cut at `max_length`.
Batches are padded only to their own longest member: with batches sorted by length most
listings pay for far fewer than `max_length` positions.
"""

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HEAD_SHARE = 0.7
_SPACE = re.compile(r"\s+")


def normalised_text(text: str) -> str:
    """The text as the cache sees it: compatibility-normalised, case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Encoded:
    """Token ids per text (special tokens included) plus, per id, the char span it came from (-1 = special)."""

    ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]


def encode(tokenizer, texts: Sequence[str], max_length: int) -> Encoded:
    """Tokenise without truncation, then keep head + tail so that both ends of long listings survive.

    ``verbose=False``: the tokenizer would warn that a long text's ids exceed the model's maximum
    length ("Token indices sequence length is longer..."), which is true only until the trim below;
    on the demo's first run that warning was the one library line left in the terminal.
    """
    enc = tokenizer(list(texts), add_special_tokens=False, truncation=False, return_offsets_mapping=True, verbose=False)
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    budget = max_length - 2
    head = int(budget * HEAD_SHARE)
    ids_out, offs_out = [], []
    for ids, offs in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        if len(ids) > budget:
            tail = budget - head
            ids = ids[:head] + ids[-tail:]
            offs = offs[:head] + offs[-tail:]
        ids_out.append([cls_id, *ids, sep_id])
        offs_out.append([(-1, -1), *[tuple(o) for o in offs], (-1, -1)])
    return Encoded(ids_out, offs_out)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """input_ids and attention_mask (int64) padded to the longest row of this batch only."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (shortest first), so padding is minimal."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
