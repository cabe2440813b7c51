"""The packet manifest and its check: every file's SHA-256, and one hash for the packet as a whole.

US Federal Rule of Evidence 902(14) accepts data authenticated by hash comparison; the
manifest is what the comparison runs against. `packet_sha256` hashes the sorted
"<sha256>  <path>" lines, so it names the packet's content independently of ZIP metadata.
`manifest.tsr`, when present, is an RFC 3161 token over the manifest's exact bytes.
"""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from takedown.timestamp import verify_token

FORMAT = "listingwatch-takedown-packet/1"
MANIFEST = "manifest.json"
TIMESTAMP_FILE = "manifest.tsr"
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


def verify_packet(path: Path, ca_file: Path | None = None) -> VerifyResult:
    """Recompute every hash in a packet ZIP against its manifest and check the timestamp token if present."""
    result = VerifyResult()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        result.problems.append(f"{path} is not a readable ZIP file ({err})")
        return result
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()][:MAX_MEMBERS]
        if MANIFEST not in names:
            result.missing.append(MANIFEST)
            return result
        manifest_bytes = archive.read(MANIFEST)
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
        present = set(names)
        for name in sorted(listed):
            if name not in present:
                result.missing.append(name)
                continue
            result.files += 1
            if sha256(archive.read(name)) != listed[name]:
                result.altered.append(name)
        result.added = sorted(present - set(listed) - {MANIFEST, TIMESTAMP_FILE})
        if TIMESTAMP_FILE in present:
            ok, message = verify_token(manifest_bytes, archive.read(TIMESTAMP_FILE), ca_file)
            (result.notes if ok else result.problems).append(message)
        else:
            result.notes.append("no timestamp token")
    return result
