"""`listingwatch takedown ...`: confirmed listings -> packets for platforms -> proof of what they did.

A liaison's day: `takedown export --platform NAME` writes a packet ZIP of that platform's
confirmed listings, `takedown sent PACKET` records that it went out, `takedown check` (also run
by the recheck DAG) re-fetches reported listings and records removals, `takedown report`
prints how each platform is doing. `takedown verify PACKET.zip` is for anyone who receives a
packet. Every status change is kept in an append-only audit log (`takedown history ITEM`).
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from listingwatch.terminal import FormatOption, OutputFormat, emit, parse_time

takedown_app = typer.Typer(
    help=(
        "Takedown packets for platforms and accountability for what they removed.\n\n"
        "Typical use: `takedown export --platform telegram`, send the ZIP through the platform's channel "
        "(`takedown platforms` lists them), `takedown sent PACKET_ID`; `takedown check` records removals; "
        "`takedown report` compares platforms. Docs: docs/liaison.md."
    ),
    no_args_is_help=True,
)

By = Annotated[
    str | None,
    typer.Option("--by", help="Liaison acting (default: $LISTINGWATCH_USER); a liaison or admin account."),
]
At = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        help="When it happened: ISO 8601 (2026-11-01T14:30:00Z, an offset, or a date); no zone = UTC; default now.",
        parser=parse_time,
        metavar="TIME",
    ),
]
EXIT_TAMPERED = 1


def _actor(session: Any, by: str | None) -> str:
    from core.errors import ConfigError
    from core.settings import get_settings
    from core.store.users import require_user

    by = by or get_settings().user
    if not by:
        raise ConfigError("Say who acts: pass --by NAME or set LISTINGWATCH_USER.")
    user = require_user(session, by)
    if user.role not in ("liaison", "admin"):
        raise ConfigError(f"User {by} is an {user.role}; takedown work needs a liaison or admin account.")
    return user.name


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _context() -> tuple[Any, Any, Any]:
    from core.settings import get_settings
    from index_config.client import get_client
    from takedown.workflow import registry_for

    settings = get_settings()
    return settings, get_client(settings), registry_for(settings)


def _node_down(settings: Any) -> Exception:
    from core.errors import ServiceUnavailable

    return ServiceUnavailable(
        f"Elasticsearch at {settings.es.endpoint} is not answering; start it with `listingwatch es start`."
    )


@takedown_app.command("platforms")
def platforms(
    file: Annotated[Path | None, typer.Option("--file", help="Registry to check (default: settings).")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Validate the platform registry and list each platform's report channels and promise."""
    from core.settings import get_settings
    from takedown.platforms import load_registry

    registry = load_registry(file or get_settings().takedown.platforms_file)
    rows = [
        {
            "key": p.key,
            "name": p.name + (" (catch-all)" if p.catch_all else ""),
            "channels": ("\n" if fmt is OutputFormat.table else "; ").join(
                f"{c.kind}: {c.address or c.url}" for c in p.channels
            ),
            "promised h": p.response_hours,
            "fields": ", ".join(p.required_fields),
        }
        for p in registry.platforms
    ]
    emit(rows, fmt, title=f"{len(registry.platforms)} platforms")


@takedown_app.command("intake")
def intake(at: At = None) -> None:
    """Open a takedown item (status new) for every confirmed listing without one. `export` does this too."""
    from elasticsearch import TransportError

    from core.store import session_scope
    from takedown.workflow import intake as run_intake

    settings, client, registry = _context()
    try:
        with session_scope(settings) as session:
            report = run_intake(session, client, settings, registry, _utc(at))
    except TransportError:
        raise _node_down(settings) from None
    typer.echo(f"opened {len(report.created)} items; {len(report.missing)} confirmed listings not in the index")


@takedown_app.command("list")
def list_items(
    platform: Annotated[str | None, typer.Option("--platform", help="Only this platform (key or name).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Takedown items with status, platform and dates (`--format tsv` to pass ids on to `history`)."""
    from core.errors import ConfigError
    from core.store import session_scope
    from core.store.takedowns import STATUSES
    from takedown.cases import items_for
    from takedown.rows import utc_iso
    from takedown.workflow import registry_for

    if status is not None and status not in STATUSES:
        raise ConfigError(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    settings, _, _ = _context()
    registry = registry_for(settings)
    key = registry.get(platform).key if platform else None
    with session_scope(settings) as session:
        items = items_for(session, key, [status] if status else None)
        rows = [
            {
                "item": i.id,
                "status": i.status,
                "platform": i.platform,
                "listing": i.listing_id,
                "url": i.url,
                "reported": utc_iso(i.reported_at),
                "removed": utc_iso(i.removed_at),
            }
            for i in items
        ]
    emit(rows, fmt, title=f"{len(rows)} takedown items")


@takedown_app.command("history")
def history(
    item: Annotated[str, typer.Argument(help="Item number or listing id.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The item's audit log: every change with who, when, from, to and note."""
    from core.store import session_scope
    from takedown.cases import get_item
    from takedown.rows import utc_iso

    settings, _, _ = _context()
    with session_scope(settings) as session:
        found = get_item(session, item)
        title = f"item {found.id} ({found.platform}): {found.url}"
        rows = [
            {"at": utc_iso(e.at), "by": e.actor, "from": e.from_status or "-", "to": e.to_status, "note": e.note or ""}
            for e in found.audit
        ]
    emit(rows, fmt, title=title)


@takedown_app.command("set")
def set_status(
    item: Annotated[str, typer.Argument(help="Item number or listing id.")],
    status: Annotated[str, typer.Argument(help="rejected (platform declined), new (report again), ...")],
    note: Annotated[str | None, typer.Option("--note", help="Why; kept in the audit log.")] = None,
    by: By = None,
    at: At = None,
) -> None:
    """Record a status change by hand (e.g. the platform rejected the report); allowed moves are checked."""
    from core.store import session_scope
    from takedown import cases, mirror

    settings, client, _ = _context()
    with session_scope(settings) as session:
        found = cases.get_item(session, item)
        change = cases.transition(session, found, status, _actor(session, by), note, _utc(at))
        mirror.sync(client, settings, [found])
    typer.echo(f"item {change.item_id}: {change.before} -> {change.after}")


@takedown_app.command("assign")
def assign(
    item: Annotated[str, typer.Argument(help="Item number or listing id.")],
    platform: Annotated[str, typer.Option("--platform", help="Registry key or name to report it to.")],
    note: Annotated[str | None, typer.Option("--note", help="Why; kept in the audit log.")] = None,
    by: By = None,
) -> None:
    """Give an item (e.g. one under the catch-all "unassigned") to a platform before export."""
    from core.store import session_scope
    from takedown import cases, mirror

    settings, client, registry = _context()
    with session_scope(settings) as session:
        found = cases.assign(session, registry, cases.get_item(session, item), platform, _actor(session, by), note)
        mirror.sync(client, settings, [found])
        typer.echo(f"item {found.id} now goes to {found.platform}")


@takedown_app.command("export")
def export(
    platform: Annotated[str, typer.Option("--platform", help="Registry key or name, as the sources name it.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the ZIPs (default takedown.packets_dir).")
    ] = None,
    by: By = None,
    at: At = None,
) -> None:
    """Write one packet ZIP per batch of the platform's new items and queue them (mark sent with `sent`)."""
    from elasticsearch import TransportError

    from core.store import session_scope
    from takedown.workflow import export as run_export

    settings, client, registry = _context()
    try:
        with session_scope(settings) as session:
            packets, warnings = run_export(
                session, client, settings, registry, platform, out, _actor(session, by), _utc(at)
            )
    except TransportError:
        raise _node_down(settings) from None
    for warning in warnings:
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    for p in packets:
        stamp = "with timestamp token" if p.timestamped else "no timestamp token"
        typer.echo(f"{p.path}\t{len(p.listing_ids)} listings\tsha256 {p.zip_sha256}\t{stamp}")
    typer.echo(f"Send each ZIP through the platform's channel, then: listingwatch takedown sent {packets[0].packet_id}")


@takedown_app.command("sent")
def sent(
    packet_id: Annotated[str, typer.Argument(help="Packet id (the ZIP's name without .zip).")],
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="The platform's reference or ticket number for the report.")
    ] = None,
    by: By = None,
    at: At = None,
) -> None:
    """Record that a packet went to its platform: its items become reported at that time."""
    from core.store import session_scope
    from takedown.workflow import mark_sent

    settings, client, _ = _context()
    with session_scope(settings) as session:
        changes = mark_sent(
            session, client, settings, packet_id.removesuffix(".zip"), _actor(session, by), _utc(at), ticket
        )
    typer.echo(f"{len(changes)} items reported" + (f" (ticket {ticket})" if ticket else ""))


@takedown_app.command("response")
def response(
    ref: Annotated[str, typer.Argument(help="Item number, listing id, or a packet id (every item in it).")],
    decision: Annotated[
        str, typer.Option("--decision", help="removed, restricted, geo_blocked, declined or no_response.")
    ],
    grounds: Annotated[str | None, typer.Option("--grounds", help="The platform's stated grounds, as given.")] = None,
    countries: Annotated[
        list[str] | None, typer.Option("--countries", help="ISO codes where restricted/geo-blocked (repeat).")
    ] = None,
    by: By = None,
    at: At = None,
) -> None:
    """Record what the platform answered (DSA Art. 17 decision kinds); kept in the audit log and the figures.

    A "removed" answer is recorded as told; the removal itself counts once a check sees the page gone.
    "declined" moves reported items to rejected; appeal within six months with `takedown appeal`.
    """
    from core.store import session_scope
    from takedown import cases, mirror

    settings, client, _ = _context()
    codes = [c for value in countries or [] for c in value.replace(",", " ").split()]
    with session_scope(settings) as session:
        actor = _actor(session, by)
        items = cases.items_by_ref(session, ref)
        for item in items:
            cases.record_response(session, item, decision, actor, grounds, codes, _utc(at))
        mirror.sync(client, settings, items)
        for item in items:
            typer.echo(f"item {item.id}: {decision} recorded ({item.status})")


@takedown_app.command("appeal")
def appeal(
    item: Annotated[str, typer.Argument(help="Item number or listing id.")],
    note: Annotated[str, typer.Option("--note", help="Why the platform's decision is wrong (sent with the appeal).")],
    by: By = None,
    at: At = None,
) -> None:
    """Appeal the platform's latest decision on an item (DSA Art. 20); refused after the six-month deadline."""
    from core.store import session_scope
    from takedown import cases

    settings, _, _ = _context()
    with session_scope(settings) as session:
        found = cases.get_item(session, item)
        filed = cases.file_appeal(session, found, note, _actor(session, by), _utc(at))
        typer.echo(
            f"item {found.id}: appeal against '{filed.response.decision}' filed; deadline {filed.deadline:%Y-%m-%d}"
        )


@takedown_app.command("key")
def key(
    public_out: Annotated[
        Path | None, typer.Option("--public-out", help="Write the public key (PEM) here to publish it.")
    ] = None,
) -> None:
    """The organisation's packet-signing key: its fingerprint, and the public key to publish (made on first use)."""
    from core.settings import get_settings
    from takedown.signing import PublicKey, key_path, signing_key

    settings = get_settings()
    public = PublicKey(signing_key(settings).public_key(), str(key_path(settings)))
    if public_out is not None:
        public_out.write_bytes(public.pem)
        typer.echo(f"public key written to {public_out}")
    typer.echo(f"private key: {key_path(settings)}")
    typer.echo(f"fingerprint: {public.fingerprint}")


@takedown_app.command("packets")
def packets(
    platform: Annotated[str | None, typer.Option("--platform")] = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Packets written so far: when, how many listings, sent or not."""
    from sqlalchemy import select

    from core.store import session_scope
    from core.store.takedowns import TakedownPacket
    from takedown.rows import utc_iso

    settings, _, registry = _context()
    with session_scope(settings) as session:
        query = select(TakedownPacket).order_by(TakedownPacket.created_at)
        if platform:
            query = query.where(TakedownPacket.platform == registry.get(platform).key)
        rows = [
            {
                "packet": p.id,
                "platform": p.platform,
                "listings": len(p.items),
                "created": utc_iso(p.created_at),
                "sent": utc_iso(p.sent_at) if p.sent_at else None,
                "sent by": p.sent_by,
                "path": p.path,
            }
            for p in session.scalars(query)
        ]
    emit(rows, fmt, title=f"{len(rows)} packets")


@takedown_app.command("verify")
def verify(
    packet: Annotated[Path, typer.Argument(help="A packet ZIP.")],
    tsa_ca: Annotated[Path | None, typer.Option("--tsa-ca", help="CA certificate(s) the token must chain to.")] = None,
    keys: Annotated[
        list[Path] | None,
        typer.Option("--key", help="Ed25519 public key (PEM) of a sender you trust; repeat for several."),
    ] = None,
) -> None:
    """Check the signature under a trusted key, every hash against the manifest, and the timestamp token.

    Intact only when manifest.sig is valid under the organisation's key, a key in
    takedown.trusted_keys or one passed with --key, and every file matches; exit 1 naming why not.
    """
    from core.settings import get_settings
    from takedown.manifest import verify_packet
    from takedown.signing import trusted_keys

    settings = get_settings()
    result = verify_packet(packet, trusted_keys(settings, keys), tsa_ca or settings.takedown.tsa_ca_file)
    for line in result.lines():
        typer.echo(line)
    for note in result.notes:
        typer.echo(f"note: {note}")
    if not result.intact:
        typer.secho(f"{packet}: NOT intact", err=True, fg=typer.colors.RED)
        raise typer.Exit(EXIT_TAMPERED)
    typer.echo(f"{packet}: intact ({result.files} files, packet sha256 {result.packet_sha256})")


@takedown_app.command("check")
def check(
    force: Annotated[bool, typer.Option("--force", help="Check every watched item, due or not.")] = False,
    at: At = None,
) -> None:
    """Re-fetch reported listings that are due (hourly on day one, then daily), record removals, find relistings."""
    from elasticsearch import TransportError

    from core.store import session_scope
    from takedown.relist import detect
    from takedown.removal import run_checks

    settings, client, registry = _context()
    try:
        with session_scope(settings) as session:
            outcomes = run_checks(session, client, settings, registry, _utc(at), force=force)
            relisted = detect(session, client, settings, registry, _utc(at))
    except TransportError:
        raise _node_down(settings) from None
    for o in outcomes:
        moved = f"{o.status_before} -> {o.status_after}" if o.status_before != o.status_after else o.status_after
        typer.echo(f"item {o.item_id}\t{o.verdict}\t{moved}\t{o.reason}")
    for r in relisted:
        typer.echo(f"relisting: {r.url} relists item {r.removed_item_id} ({'; '.join(r.reasons)})")
    typer.echo(f"{len(outcomes)} checked, {len(relisted)} relistings linked")


@takedown_app.command("report")
def report(
    fmt: Annotated[str, typer.Option("--format", help="table, csv (for policy staff) or json.")] = "table",
    period: Annotated[
        str | None, typer.Option("--period", help="A year (e.g. 2026): the DSA Art. 22(3) yearly figures instead.")
    ] = None,
    by_dim: Annotated[
        str, typer.Option("--by", help="With --period: split each platform by substance or quarter.")
    ] = "platform",
    at: At = None,
) -> None:
    """Per platform: reported, removed, seller deletions, still live, time to removal and to first answer.

    Times are Kaplan–Meier estimates: items still live count as not removed yet, so the median reads
    "not reached (> N h)" until half are down. With --period YEAR: notices per platform, per kind of
    content (--by substance) or quarter, per action taken, as a trusted flagger publishes them.
    """
    import csv
    import json
    import sys

    from core.errors import ConfigError
    from core.store import session_scope
    from takedown.accountability import COLUMNS, cell, facts_from_store
    from takedown.accountability import report as build

    if fmt not in ("table", "csv", "json"):
        raise ConfigError(f"--format must be table, csv or json (got {fmt!r}).")
    settings, _, registry = _context()
    if period is not None:
        from takedown.yearly import as_json, yearly

        with session_scope(settings) as session:
            year_rows = yearly(facts_from_store(session), registry, period, by_dim, _utc(at) or datetime.now(UTC))
        doc = as_json(year_rows, period, by_dim)
        if fmt == "json":
            typer.echo(json.dumps(doc, indent=2))
            return
        header = ["platform", "group", "notices", *doc["actions"], "median_to_removal"]  # type: ignore[misc]
        flat = [{h: row[h] for h in header} for row in doc["rows"]]  # type: ignore[attr-defined]
        if fmt == "table":
            from listingwatch.terminal import emit

            emit(flat, title=f"Notices sent in {period}, per action taken (DSA Art. 22(3))")
            return
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        for row in flat:
            writer.writerow(list(row.values()))
        return
    with session_scope(settings) as session:
        rows = build(session, registry, _utc(at))
    if fmt == "json":
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        fields = list(rows[0].as_dict()) if rows else [k for k, _ in COLUMNS]
        writer.writerow(fields)
        for r in rows:
            writer.writerow(["" if v is None else v for v in r.as_dict().values()])
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="Takedown accountability (hours; live = not removed within the window / old enough)")
        for _, header in COLUMNS:
            table.add_column(header, overflow="fold")
        for r in rows:
            table.add_row(*(escape(cell(r, key)) for key, _ in COLUMNS))
        Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(takedown_app, name="takedown")
