"""Write one takedown packet: a ZIP a platform (or a court) can check without trusting us.

Layout inside the ZIP::

    report.html, report.pdf           one section per listing, the same page twice
    notice.json                       the DSA Art. 16 notice: submitter, good faith, per listing
                                      legal grounds, policy clause, explanation, human review
    custody.json                      chain of custody per listing: capture, classification,
                                      each human decision, export (who by role, when, tool, model)
    listings.csv, listings.json       the platform's required fields, in its order
    evidence/<listing_id>/capture.warc.gz   that listing's request and response records
    evidence/<listing_id>/screenshot.png    when the page was rendered in a browser
    manifest.json                     every file above with SHA-256, and the packet's hash
    manifest.sig, signer.pub.pem      Ed25519 signature over manifest.json and the public key
    manifest.tsr                      optional RFC 3161 token over manifest.json

A listing whose WARC or screenshot cannot be read still goes in, with the problem said in
the report and in the export's warnings: one bad record never stops a packet.
"""

import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.settings import Settings
from crawlers.evidence_files import confined_path
from takedown.manifest import MANIFEST, PUBLIC_KEY_FILE, SIGNATURE_FILE, TIMESTAMP_FILE, build_manifest, sha256
from takedown.notice import Review, build_notice
from takedown.platforms import Platform
from takedown.report_html import print_pdf, render_report
from takedown.rows import PacketListing, csv_cell, field_values, highlights, platform_row, utc_iso
from takedown.signing import fingerprint
from takedown.timestamp import request_token
from takedown.warcslice import slice_records

MAX_SCREENSHOT_BYTES = 20 * 1024 * 1024
_STORED = (".png", ".gz", ".pdf")


@dataclass
class PacketOptions:
    chromium: Path
    browser_args: list[str]
    signing_key: Ed25519PrivateKey
    settings: Settings
    tsa_url: str | None = None
    tsa_timeout: float = 20.0
    evidence_root: Path | None = None  # screenshots are read only from inside it (the crawler's var/)
    # Applied to the evidence files before the report is written (login-gated sources: `takedown.gated`).
    gate: Callable[[list[PacketListing], dict[str, bytes], list[str]], dict[str, bytes]] | None = None


@dataclass
class Packet:
    path: Path
    packet_id: str
    zip_sha256: str
    packet_sha256: str
    listing_ids: list[str]
    timestamped: bool
    warnings: list[str] = field(default_factory=list)


def packet_id_for(platform: Platform, listing_ids: list[str], now: datetime) -> str:
    """Readable and unique per platform, time and content: `<key>-<UTC stamp>-<hash of the listing IDs>`."""
    digest = sha256("\n".join(sorted(listing_ids)).encode())[:8]
    return f"{platform.key}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"


def _evidence(entries: list[PacketListing], warnings: list[str], root: Path | None = None) -> dict[str, bytes]:
    """Evidence files by packet path; records each entry's file list and WARC check on the entry."""
    files: dict[str, bytes] = {}
    by_warc: dict[str, dict[str, PacketListing]] = {}
    for entry in entries:
        ev = entry.listing.evidence
        if ev.warc_file and ev.warc_record_id:
            by_warc.setdefault(ev.warc_file, {})[ev.warc_record_id] = entry
        else:
            entry.warc_check = "no WARC record on file for this capture"
            warnings.append(f"{entry.listing.url}: no WARC record on file")
    for warc_file, wanted in by_warc.items():
        try:
            slices = slice_records(Path(warc_file), set(wanted))
        except (OSError, ValueError) as err:
            slices = {}
            warnings.append(f"WARC file {warc_file} could not be read ({type(err).__name__}: {err})")
        for record_id, entry in wanted.items():
            found = slices.get(record_id)
            if found is None:
                entry.warc_check = "capture record not found in the crawl's WARC files"
                warnings.append(f"{entry.listing.url}: record {record_id} not found in {warc_file}")
                continue
            name = f"evidence/{entry.listing.id}/capture.warc.gz"
            files[name] = found.data
            entry.evidence_files.append(name)
            if found.payload_sha256 == entry.listing.evidence.body_sha256:
                entry.warc_check = "re-computed from the WARC record at export: matches"
            else:
                entry.warc_check = f"WARC payload now hashes to {found.payload_sha256}: differs from the recorded hash"
                warnings.append(f"{entry.listing.url}: WARC payload hash differs from the recorded one")
    for entry in entries:
        shot = entry.listing.evidence.screenshot_path
        if not shot:
            continue
        confined = confined_path(root, shot, (".png",)) if root is not None else Path(shot)
        if confined is None:
            warnings.append(f"{entry.listing.url}: screenshot {shot} is not a PNG file under {root}; left out")
            continue
        try:
            data = confined.read_bytes()[: MAX_SCREENSHOT_BYTES + 1]
        except OSError as err:
            warnings.append(f"{entry.listing.url}: screenshot {shot} unreadable ({err.strerror})")
            continue
        if len(data) > MAX_SCREENSHOT_BYTES or not data.startswith(b"\x89PNG\r\n\x1a\n"):
            warnings.append(f"{entry.listing.url}: screenshot {shot} is not a PNG under 20 MB; left out")
            continue
        name = f"evidence/{entry.listing.id}/screenshot.png"
        files[name] = data
        entry.evidence_files.append(name)
    return files


def _csv(rows: list[dict[str, object]], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_cell(row[name]) for name in fields])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def build_packet(
    entries: list[PacketListing],
    platform: Platform,
    out_dir: Path,
    options: PacketOptions,
    now: datetime | None = None,
    *,
    reviews: dict[str, Review],
    custody: dict[str, list[dict[str, Any]]],
) -> Packet:
    """Write `<out_dir>/<packet_id>.zip` for these listings (all on `platform`) and return what was written.

    `reviews` holds the confirming human decision of every listing (none goes in without one);
    `custody` the custody events recorded so far, to which the export itself is added.
    """
    now = now or datetime.now(UTC)
    entries = sorted(entries, key=lambda e: e.listing.id)
    listing_ids = [e.listing.id for e in entries]
    packet_id = packet_id_for(platform, listing_ids, now)
    warnings: list[str] = []
    files = _evidence(entries, warnings, options.evidence_root)
    if options.gate is not None:
        files = options.gate(entries, files, warnings)

    missing = [e.listing.id for e in entries if e.listing.id not in reviews]
    if missing:
        raise ValueError(f"listings without a confirming human review cannot go into a packet: {missing}")
    fields = platform.required_fields
    details = platform.detection_details
    rows = [platform_row(e, platform.name, fields, details) for e in entries]
    files["listings.csv"] = _csv(rows, fields)
    files["listings.json"] = (
        json.dumps(
            {"platform": platform.name, "packet_id": packet_id, "fields": fields, "listings": rows},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    ).encode("utf-8")
    notice = build_notice(entries, reviews, platform, options.settings, packet_id, utc_iso(now))
    files["notice.json"] = (json.dumps(notice, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    files["custody.json"] = (
        json.dumps({"packet_id": packet_id, "listings": custody}, indent=2, ensure_ascii=False) + "\n"
    ).encode("utf-8")
    context = {
        "notice": notice,
        "fingerprint": fingerprint(options.signing_key.public_key()),
        "platform": platform,
        "packet_id": packet_id,
        "created_at": utc_iso(now),
        "entries": [
            {
                "row": field_values(e, platform.name, details),
                "highlights": highlights(e.listing),
                "previous_removal": e.previous_removal,
                "warc_check": e.warc_check,
                "screenshot": next((f for f in e.evidence_files if f.endswith(".png")), None),
            }
            for e in entries
        ],
    }
    html = render_report(context).encode("utf-8")
    files["report.html"] = html
    with tempfile.TemporaryDirectory(prefix="lw-packet-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            if name.endswith(".png"):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(data)
        (root / "report.html").write_bytes(html)
        files["report.pdf"] = print_pdf(root / "report.html", options.chromium, options.browser_args)

    meta = {
        "packet_id": packet_id,
        "platform": platform.name,
        "platform_key": platform.key,
        "created_at": utc_iso(now),
        "listings": listing_ids,
        "signer_fingerprint": fingerprint(options.signing_key.public_key()),
    }
    manifest = build_manifest(meta, files)
    signature = options.signing_key.sign(manifest)
    public_pem = options.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = request_token(manifest, options.tsa_url, options.tsa_timeout) if options.tsa_url else None

    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = out_dir / f"{packet_id}.zip"
    partial = path.with_suffix(".zip.partial")
    stamp = now.astimezone(UTC).timetuple()[:6]
    # Evidence of named sellers: readable by the service account only (0600), whatever the umask.
    with (
        os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw,
        zipfile.ZipFile(raw, "w") as archive,
    ):
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(_STORED) else zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
        archive.writestr(zipfile.ZipInfo(MANIFEST, date_time=stamp), manifest, zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo(SIGNATURE_FILE, date_time=stamp), signature)
        archive.writestr(zipfile.ZipInfo(PUBLIC_KEY_FILE, date_time=stamp), public_pem)
        if token is not None:
            archive.writestr(zipfile.ZipInfo(TIMESTAMP_FILE, date_time=stamp), token)
    partial.replace(path)
    return Packet(
        path=path,
        packet_id=packet_id,
        zip_sha256=sha256(path.read_bytes()),
        packet_sha256=json.loads(manifest)["packet_sha256"],
        listing_ids=listing_ids,
        timestamped=token is not None,
        warnings=warnings,
    )
