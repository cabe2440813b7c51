"""Cryptocurrency addresses in listing text, with checksum validation where the format carries one.

A checksum-valid address is strong evidence the seller pasted a real payment address (not a
placeholder), which matters to an analyst deciding what to report. Formats:
BTC legacy/P2SH (base58check), BTC segwit (bech32/bech32m), ETH (EIP-55 mixed-case checksum,
Keccak-256), USDT on TRON (TRC20, base58check with version 0x41), LTC (base58check L/M, bech32 ltc1),
XMR (format only: Monero's checksum needs its block-wise base58, and a format match is already specific).
"""

import re
from dataclasses import dataclass
from typing import Literal

import base58
import bech32
from Crypto.Hash import keccak

Currency = Literal["BTC", "XMR", "ETH", "USDT", "LTC"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BTC_BASE58 = re.compile(rf"(?<![{_B58}])[13][{_B58}]{{25,34}}(?![{_B58}])")
_BTC_BECH32 = re.compile(r"(?<![a-z0-9])(bc1[ac-hj-np-z02-9]{8,87})(?![a-z0-9])", re.IGNORECASE)
_ETH = re.compile(r"(?<![0-9a-zA-Z])0x[0-9a-fA-F]{40}(?![0-9a-zA-Z])")
_TRON = re.compile(rf"(?<![{_B58}])T[{_B58}]{{33}}(?![{_B58}])")
_LTC_BASE58 = re.compile(rf"(?<![{_B58}])[LM][{_B58}]{{26,33}}(?![{_B58}])")
_LTC_BECH32 = re.compile(r"(?<![a-z0-9])(ltc1[ac-hj-np-z02-9]{8,87})(?![a-z0-9])", re.IGNORECASE)
_XMR = re.compile(rf"(?<![{_B58}])[48][{_B58}]{{94}}(?![{_B58}])")


@dataclass(frozen=True)
class Address:
    currency: Currency
    address: str
    valid_checksum: bool | None


def _base58check_version(address: str) -> int | None:
    """The version byte of a base58check string, or None when the checksum does not match."""
    try:
        raw = base58.b58decode_check(address)
    except ValueError:
        return None
    return raw[0] if len(raw) == 21 else None


def btc_base58_valid(address: str) -> bool:
    return _base58check_version(address) in (0x00, 0x05)


_BECH32M_CONST = 0x2BC830A3  # BIP-350; the bech32 1.2 package predates it and only checks v0 (bech32) addresses


def btc_bech32_valid(address: str) -> bool:
    """Segwit v0 via the bech32 reference package; v1+ (taproot) via its polymod with the bech32m constant."""
    address = address.lower()
    version, program = bech32.decode("bc", address)
    if version is not None and program is not None:
        return version == 0
    hrp, _, rest = address.rpartition("1")
    if hrp != "bc" or any(c not in bech32.CHARSET for c in rest) or len(rest) < 7:
        return False
    data = [bech32.CHARSET.find(c) for c in rest]
    if bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data) != _BECH32M_CONST:
        return False
    program = bech32.convertbits(data[1:-6], 5, 8, False)
    return 1 <= data[0] <= 16 and program is not None and 2 <= len(program) <= 40


def ltc_base58_valid(address: str) -> bool:
    """Litecoin P2PKH (L…, version 0x30) and P2SH (M…, version 0x32)."""
    return _base58check_version(address) in (0x30, 0x32)


def ltc_bech32_valid(address: str) -> bool:
    version, program = bech32.decode("ltc", address.lower())
    return version == 0 and program is not None


def tron_valid(address: str) -> bool:
    return _base58check_version(address) == 0x41


def eth_checksum(address: str) -> bool | None:
    """EIP-55: True/False for mixed-case addresses; None when all one case (no checksum encoded)."""
    hex_part = address[2:]
    if hex_part == hex_part.lower() or hex_part == hex_part.upper():
        return None
    digest = keccak.new(digest_bits=256, data=hex_part.lower().encode("ascii")).hexdigest()
    expected = "".join(
        c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c.lower() for i, c in enumerate(hex_part)
    )
    return expected == hex_part


def eip55(address_hex: str) -> str:
    """The EIP-55 checksummed form of a 40-hex-digit address (used by the site generator and tests)."""
    lower = address_hex.lower().removeprefix("0x")
    digest = keccak.new(digest_bits=256, data=lower.encode("ascii")).hexdigest()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def address_spans(text: str) -> list[tuple[int, int]]:
    """Where anything shaped like an address sits, checksum or not (other extractors leave those spans alone)."""
    patterns = (_XMR, _BTC_BECH32, _BTC_BASE58, _TRON, _ETH, _LTC_BASE58, _LTC_BECH32)
    return [m.span() for pattern in patterns for m in pattern.finditer(text)]


def find_addresses(text: str) -> list[Address]:
    """All addresses in text, in order of first appearance, deduplicated.

    An address that is the start of a longer one found too is dropped: it is the same address cut short
    (a truncated title or preview repeating the text), not a second one.
    """
    found: list[tuple[int, Address]] = []
    xmr_spans: list[tuple[int, int]] = []
    for m in _XMR.finditer(text):
        xmr_spans.append(m.span())
        found.append((m.start(), Address("XMR", m.group(0), None)))

    def inside_xmr(pos: int) -> bool:
        return any(a <= pos < b for a, b in xmr_spans)

    for m in _BTC_BECH32.finditer(text):
        found.append((m.start(), Address("BTC", m.group(1), btc_bech32_valid(m.group(1)))))
    for m in _BTC_BASE58.finditer(text):
        if not inside_xmr(m.start()):
            found.append((m.start(), Address("BTC", m.group(0), btc_base58_valid(m.group(0)))))
    for m in _TRON.finditer(text):
        if not inside_xmr(m.start()):
            found.append((m.start(), Address("USDT", m.group(0), tron_valid(m.group(0)))))
    for m in _ETH.finditer(text):
        found.append((m.start(), Address("ETH", m.group(0), eth_checksum(m.group(0)))))
    for m in _LTC_BECH32.finditer(text):
        found.append((m.start(), Address("LTC", m.group(1), ltc_bech32_valid(m.group(1)))))
    for m in _LTC_BASE58.finditer(text):
        if not inside_xmr(m.start()):
            found.append((m.start(), Address("LTC", m.group(0), ltc_base58_valid(m.group(0)))))
    everything = {addr.address for _, addr in found}
    seen: set[str] = set()
    ordered: list[Address] = []
    for _, addr in sorted(found, key=lambda pair: pair[0]):
        if any(other != addr.address and other.startswith(addr.address) for other in everything):
            continue
        if addr.address not in seen:
            seen.add(addr.address)
            ordered.append(addr)
    return ordered
