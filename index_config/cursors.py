"""Page cursors that cannot be forged or carried to another search.

A cursor holds the `search_after` values of a page's last hit and the point in time of the scan.
It is signed (HMAC-SHA256) together with a digest of the search it was made for (query, filters
and sort), so a cursor edited by hand, cut short, or reused after changing the sort or the query
is refused with a sentence (HTTP 400) instead of reaching the node as a malformed `search_after`.
"""

import base64
import hashlib
import hmac
import json
import secrets
from functools import lru_cache
from typing import Any

from core.settings import Settings


class CursorError(ValueError):
    """A cursor that does not belong to this search; the message says what to do (the search answers 400)."""


@lru_cache(maxsize=1)
def _process_key() -> bytes:
    return secrets.token_bytes(32)


def cursor_key(settings: Settings) -> bytes:
    """The web app's signing secret (`web.secret_key`, or the key the app keeps in var/web-secret), so
    cursors stay valid across replicas and restarts; a random per-process key where neither exists."""
    if settings.web.secret_key:
        return settings.web.secret_key.encode()
    try:
        return (settings.var_dir / "web-secret").read_bytes().strip() or _process_key()
    except OSError:
        return _process_key()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, bound_to: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{bound_to}\n{payload}".encode(), hashlib.sha256).digest()[:16])


def encode_cursor(key: bytes, bound_to: str, after: list[Any], pit: str | None) -> str:
    """`payload.signature`; `bound_to` names the search (its canonical parameters without the cursor)."""
    payload = _b64(json.dumps({"a": after, "p": pit}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(key, bound_to, payload)}"


def decode_cursor(key: bytes, bound_to: str, cursor: str, values: int) -> tuple[list[Any], str | None]:
    """The `search_after` values and point in time, or a `CursorError` saying why the cursor does not fit."""
    payload, _, signature = cursor.partition(".")
    if not signature or not hmac.compare_digest(signature, _mac(key, bound_to, payload)):
        raise CursorError(
            "This page cursor does not belong to this search (the query, filters or sort changed, or the cursor "
            "was altered); start again from the first page."
        )
    try:
        data = json.loads(_unb64(payload))
        after, pit = data["a"], data.get("p")
    except (ValueError, KeyError, TypeError):
        raise CursorError("The page cursor is not valid; start the search again from the first page.") from None
    if (
        not isinstance(after, list)
        or len(after) != values
        or not all(v is None or isinstance(v, (str, int, float)) for v in after)
        or not (pit is None or isinstance(pit, str))
    ):
        raise CursorError("The page cursor is not valid; start the search again from the first page.")
    return after, pit
