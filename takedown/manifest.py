"""The packet manifest and its check: every file's SHA-256, and one hash for the packet as a whole.

US Federal Rule of Evidence 902(14) accepts data authenticated by hash comparison; the
manifest is what the comparison runs against. `packet_sha256` hashes the sorted
"<sha256>  <path>" lines, so it names the packet's content independently of ZIP metadata.
`manifest.sig` is the organisation's Ed25519 signature over the manifest's exact bytes
(`takedown.signing`): without it, or under a key the checker does not trust, a packet is not
intact, because anyone can rewrite files and recompute every hash. `manifest.tsr`, when
present, is an RFC 3161 token over the same bytes and must chain to the configured TSA CA.
A ZIP holding two members of one name is refused: viewers open one copy, a checker may read
the other.
"""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from takedown.signing import PublicKey, fingerprint, load_public_pem, valid
from takedown.timestamp import verify_token

FORMAT = "listingwatch-takedown-packet/1"
MANIFEST = "manifest.json"
TIMESTAMP_FILE = "manifest.tsr"
SIGNATURE_FILE = "manifest.sig"
PUBLIC_KEY_FILE = "signer.pub.pem"
UNLISTED = {MANIFEST, TIMESTAMP_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE}
MAX_MEMBERS = 100_000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packet_hash(files: dict[str, str]) -> str:
    """The packet's own hash over path -> sha256 (order-independent)."""
    lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return sha256(lines.encode("utf-8"))


def build_manifest(meta: dict[str, object], files: dict[str, bytes]) -> bytes:
    digests = {path: sha256(data) for path, data in files.items()}
    body = {
        "format": FORMAT,
        **meta,
        "files": [{"path": p, "sha256": digests[p], "bytes": len(files[p])} for p in sorted(files)],
        "packet_sha256": packet_hash(digests),
    }
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class VerifyResult:
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    packet_sha256: str | None = None

    @property
    def intact(self) -> bool:
        return not (self.altered or self.missing or self.added or self.problems)

    def lines(self) -> list[str]:
        out = [f"altered: {p}" for p in self.altered]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"added: {p}" for p in self.added]
        out += [f"problem: {p}" for p in self.problems]
        return out


def _check_signature(
    manifest: bytes, signature: bytes | None, shipped_key: bytes | None, trusted: list[PublicKey]
) -> tuple[str | None, str]:
    """(problem or None, note): valid under a trusted key, or why not."""
    if signature is None:
        return f"not signed: {SIGNATURE_FILE} is missing, so the manifest vouches only for itself", ""
    for key in trusted:
        if valid(key.key, signature, manifest):
            return None, f"signature valid, key {key.fingerprint} ({key.origin})"
    shipped = load_public_pem(shipped_key) if shipped_key else None
    if shipped is not None and valid(shipped, signature, manifest):
        return f"signed by an untrusted key {fingerprint(shipped)}: not the organisation's nor a listed one", ""
    if not trusted:
        return "no trusted key to check the signature with: pass --key PUBLIC.pem or set takedown.trusted_keys", ""
    return f"the signature in {SIGNATURE_FILE} does not match {MANIFEST} under any trusted key", ""


def verify_packet(path: Path, trusted: list[PublicKey], ca_file: Path | None = None) -> VerifyResult:
    """Check the signature, every hash against the manifest, and the timestamp token if present."""
    result = VerifyResult()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        result.problems.append(f"{path} is not a readable ZIP file ({err})")
        return result
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()][:MAX_MEMBERS]
        doubled = sorted({n for n in names if names.count(n) > 1})
        for name in doubled:
            result.problems.append(f"duplicate member name {name}: viewers may open a copy other than the one checked")
        if doubled:
            return result
        if MANIFEST not in names:
            result.missing.append(MANIFEST)
            return result
        manifest_bytes = archive.read(MANIFEST)
        present = set(names)
        problem, note = _check_signature(
            manifest_bytes,
            archive.read(SIGNATURE_FILE) if SIGNATURE_FILE in present else None,
            archive.read(PUBLIC_KEY_FILE) if PUBLIC_KEY_FILE in present else None,
            trusted,
        )
        if problem:
            result.problems.append(problem)
        else:
            result.notes.append(note)
        try:
            manifest = json.loads(manifest_bytes)
            listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
            claimed = manifest["packet_sha256"]
        except (ValueError, KeyError, TypeError) as err:
            result.problems.append(f"{MANIFEST} is not a packet manifest ({type(err).__name__}: {err})")
            return result
        result.packet_sha256 = claimed
        if packet_hash(listed) != claimed:
            result.problems.append("packet_sha256 in the manifest does not match its file list")
        for name in sorted(listed):
            if name not in present:
                result.missing.append(name)
                continue
            result.files += 1
            if sha256(archive.read(name)) != listed[name]:
                result.altered.append(name)
        result.added = sorted(present - set(listed) - UNLISTED)
        if TIMESTAMP_FILE in present:
            ok, message = verify_token(manifest_bytes, archive.read(TIMESTAMP_FILE), ca_file)
            (result.notes if ok else result.problems).append(message)
        else:
            result.notes.append("no timestamp token")
    return result
