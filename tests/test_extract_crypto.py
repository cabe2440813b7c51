"""Crypto address finding and checksum validation (pure functions)."""

import random

import base58
import bech32
import pytest

from crawlers.extract.crypto import eip55, eth_checksum, find_addresses

# Published examples: BIP-173 (bech32), the Bitcoin genesis address, EIP-55's own test vectors.
GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
BECH32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
TAPROOT = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"  # BIP-350 test vector
EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
TRON = base58.b58encode_check(b"\x41" + bytes(range(20))).decode()
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
XMR = "4" + "".join(random.Random(1).choice(BASE58) for _ in range(94))


def _flip(address: str, index: int) -> str:
    c = address[index]
    return address[:index] + ("2" if c != "2" else "3") + address[index + 1 :]


@pytest.mark.parametrize(
    ("text", "currency", "address", "valid"),
    [
        (f"BTC only: {GENESIS}", "BTC", GENESIS, True),
        (f"pay {_flip(GENESIS, 10)} now", "BTC", _flip(GENESIS, 10), False),
        (f"segwit {BECH32}.", "BTC", BECH32, True),
        (f"taproot {TAPROOT}", "BTC", TAPROOT, True),
        (f"bad {BECH32[:-1]}5", "BTC", BECH32[:-1] + "5", False),
        (f"eth {EIP55}", "ETH", EIP55, True),
        (f"eth {EIP55[:3]}A{EIP55[4:]}", "ETH", EIP55[:3] + "A" + EIP55[4:], False),
        (f"eth lower {EIP55.lower()}", "ETH", EIP55.lower(), None),
        (f"USDT TRC20 → {TRON}", "USDT", TRON, True),
        (f"USDT {_flip(TRON, 5)}", "USDT", _flip(TRON, 5), False),
        (f"XMR {XMR} thanks", "XMR", XMR, None),
    ],
)
def test_find_addresses(text: str, currency: str, address: str, valid: bool | None) -> None:
    found = find_addresses(text)
    assert [(a.currency, a.address, a.valid_checksum) for a in found] == [(currency, address, valid)]


def test_generated_addresses_roundtrip() -> None:
    rng = random.Random(7)
    payload = rng.randbytes(20)
    addresses = [
        base58.b58encode_check(b"\x05" + payload).decode(),
        bech32.encode("bc", 0, list(payload)),
        eip55(payload.hex()),
    ]
    found = find_addresses(" / ".join(addresses))
    assert [a.address for a in found] == addresses
    assert all(a.valid_checksum for a in found)


def test_no_false_positives_in_ordinary_text() -> None:
    text = "Order #1234567890 shipped via UPS 1Z999AA10123456784, call 555-0100, SKU TX-1000, hash 0xdeadbeef."
    assert find_addresses(text) == []


def test_eth_checksum_all_caps_is_unchecked() -> None:
    assert eth_checksum("0x" + EIP55[2:].upper()) is None
