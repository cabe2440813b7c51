"""Model inputs: long listings keep both ends, and the tokenizer says nothing about lengths it never feeds."""

import logging

import pytest
from transformers import AutoTokenizer

from classifiers.encoding import HEAD_SHARE, encode
from classifiers.train import base_model_path


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(base_model_path())


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_long_listing_keeps_its_title_and_its_contacts(tokenizer) -> None:
    text = "m30 blues x100 " + "filler words about shipping " * 300 + "wickr: <wickr> btc only"
    kept = _Kept()
    hf_logger = logging.getLogger("transformers")  # its own console handler; it does not propagate
    hf_logger.addHandler(kept)
    try:
        (ids,) = encode(tokenizer, [text], 128).ids
    finally:
        hf_logger.removeHandler(kept)

    assert len(ids) == 128
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    decoded = tokenizer.decode(ids[1:-1])
    assert decoded.startswith("m30 blues x100")
    assert decoded.endswith("wickr : < wickr > btc only")
    head = tokenizer.decode(ids[1 : 1 + int(126 * HEAD_SHARE)])
    assert decoded.index(head) == 0 and decoded.count("shipping") < 30  # the middle went, not an end
    assert not [m for m in kept.messages if "sequence length" in m]  # nothing said of a length never fed


def test_a_short_listing_is_not_padded_or_cut(tokenizer) -> None:
    (ids,) = encode(tokenizer, ["oxy 30mg"], 128).ids
    assert tokenizer.decode(ids) == "[CLS] oxy 30mg [SEP]"
