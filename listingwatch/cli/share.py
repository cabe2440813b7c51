"""`listingwatch share export`: confirmed sellers' indicators as STIX 2.1 or MISP, for partner teams."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

share_app = typer.Typer(
    help="Share confirmed sellers' indicators with partners (STIX 2.1 bundles, MISP events). Docs: docs/liaison.md.",
    no_args_is_help=True,
)


@share_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="stix (STIX 2.1 bundle) or misp (MISP events JSON).")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    since: Annotated[
        datetime | None, typer.Option("--since", help="Only listings confirmed on or after this UTC date.")
    ] = None,
    tlp: Annotated[str, typer.Option("--tlp", help="TLP marking: clear, green, amber or red.")] = "amber",
) -> None:
    """Write the indicators of every listing a person confirmed (URLs, handles, e-mails, phones, wallets, photo
    hashes), grouped by seller cluster, marked with TLP and the organisation as author."""
    from elasticsearch import TransportError

    from core.errors import ServiceUnavailable
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.triage import current_decisions
    from index_config.client import get_client
    from index_config.triage import fetch_listings
    from takedown.share import groups, write

    settings = get_settings()
    when = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
    with session_scope(settings) as session:
        ids = sorted(
            lid
            for lid, d in current_decisions(session).items()
            if d.decision == "confirmed" and (when is None or d.at >= when)
        )
    try:
        docs = fetch_listings(get_client(settings), settings, ids) if ids else {}
    except TransportError:
        raise ServiceUnavailable(
            f"Elasticsearch at {settings.es.endpoint} is not answering; start it with `listingwatch es start`."
        ) from None
    found = groups(docs)
    text = write(fmt, found, settings.takedown.submitter.organisation, tlp)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{out}: {len(docs)} confirmed listings in {len(found)} seller groups ({fmt}, TLP:{tlp.upper()})")


def register(app: typer.Typer) -> None:
    app.add_typer(share_app, name="share")
