"""RFC 3161 timestamp tokens over a packet's manifest, through OpenSSL's `ts` command.

A token signed by a time-stamping authority lets a third party check that the manifest —
and so every hash in it — existed at the stated time, without trusting us. OpenSSL builds
the request and verifies the reply; the HTTP exchange is a plain POST (RFC 3161 section 3.4).
"""

import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from core.errors import ListingwatchError, ServiceUnavailable

MAX_REPLY_BYTES = 1024 * 1024


class TimestampError(ListingwatchError):
    """The authority could not be reached, refused, or answered something that is not a valid token."""


def _openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ServiceUnavailable("The openssl command is missing; install the openssl package.") from None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no output"


def request_token(data: bytes, tsa_url: str, timeout: float) -> bytes:
    """Ask the authority to stamp SHA-256(data); returns the DER TimeStampResp (status granted)."""
    with tempfile.TemporaryDirectory(prefix="lw-tsq-") as tmp:
        source = Path(tmp) / "data"
        source.write_bytes(data)
        query = _openssl("ts", "-query", "-data", str(source), "-sha256", "-cert")
        if query.returncode != 0:
            raise TimestampError(f"openssl could not build a timestamp query ({_first_line(query.stderr)}).")
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's configured authority)
            tsa_url, data=query.stdout, headers={"Content-Type": "application/timestamp-query"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                reply = response.read(MAX_REPLY_BYTES + 1)
        except (urllib.error.URLError, OSError) as err:
            raise TimestampError(
                f"The time-stamping authority {tsa_url} did not answer ({err}); check takedown.tsa_url "
                "or unset it to export without a token."
            ) from None
        if len(reply) > MAX_REPLY_BYTES:
            raise TimestampError(f"The time-stamping authority {tsa_url} sent an oversized reply; not a token.")
        token = Path(tmp) / "reply.tsr"
        token.write_bytes(reply)
        status = _openssl("ts", "-reply", "-in", str(token), "-text")
        text = status.stdout.decode("utf-8", "replace")
        if status.returncode != 0 or "Status: Granted" not in text:
            raise TimestampError(
                f"The time-stamping authority {tsa_url} did not grant a token "
                f"({_first_line(status.stdout + status.stderr)})."
            )
        return reply


def verify_token(data: bytes, token: bytes, ca_file: Path | None) -> tuple[bool, str]:
    """Check the token covers SHA-256(data) and is signed by a TSA chaining to `ca_file`.

    Without a CA file the system's trust store is the anchor. A token is never checked against
    the certificate it carries itself (`-partial_chain`): anyone can make a TSA certificate.
    """
    with tempfile.TemporaryDirectory(prefix="lw-tsv-") as tmp:
        data_path, token_path = Path(tmp) / "data", Path(tmp) / "token.tsr"
        data_path.write_bytes(data)
        token_path.write_bytes(token)
        args = ["ts", "-verify", "-data", str(data_path), "-in", str(token_path)]
        if ca_file is not None:
            args += ["-CAfile", str(ca_file)]
            anchor = f"the TSA CA {ca_file}"
        else:
            args += ["-CApath", ssl.get_default_verify_paths().capath or "/etc/ssl/certs"]
            anchor = "the system trust store (set takedown.tsa_ca_file or pass --tsa-ca for a private TSA)"
        result = _openssl(*args)
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        if result.returncode == 0 and "Verification: OK" in output:
            return True, f"timestamp token verified against {anchor}"
        return (
            False,
            f"timestamp token does not match the manifest or does not chain to {anchor} "
            f"({_first_line(result.stderr or result.stdout)})",
        )
