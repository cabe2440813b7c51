"""The API-token principal cache and the highlight renderer, without a node or a server."""

import time

from index_config.search import HL_END, HL_START
from webapp.markup import highlight_fragment
from webapp.security import Principal, TokenCache

ANNA = Principal(1, "anna", "analyst", "token")


def test_cache_keeps_valid_tokens_for_its_ttl_only() -> None:
    cache = TokenCache(ttl=0.05)
    assert cache.get("lw_a") is None
    cache.put("lw_a", ANNA)
    assert cache.get("lw_a") == ANNA
    assert cache.get("lw_b") is None
    time.sleep(0.06)
    assert cache.get("lw_a") is None


def test_cache_is_bounded_and_keys_are_digests() -> None:
    cache = TokenCache(ttl=60, max_entries=3)
    for i in range(10):
        cache.put(f"lw_{i}", ANNA)
    assert len(cache._entries) <= 3
    assert cache.get("lw_9") == ANNA
    assert all("lw_" not in key for key in cache._entries)  # no token kept in clear
    cache.clear()
    assert cache.get("lw_9") is None


def test_highlight_escapes_and_balances_marks() -> None:
    s, e = HL_START, HL_END
    assert highlight_fragment(f"<b>{s}x{e}</b>") == "&lt;b&gt;<mark>x</mark>&lt;/b&gt;"
    assert highlight_fragment(f"{e}a{s}{s}b") == "a<mark>b</mark>"
    assert highlight_fragment("plain & simple") == "plain &amp; simple"
