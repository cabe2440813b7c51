"""`listingwatch db|users|triage`: the relational store of accounts and analysts' decisions.

`users add NAME --role analyst` creates an account (password from a prompt or --password-file),
`users token NAME` prints a new API token for scripts (`Authorization: Bearer TOKEN`),
`triage confirm ID...` records decisions from a terminal, `triage export OUT.jsonl` writes the
current decisions as labelled training examples.
"""

from pathlib import Path
from typing import Annotated

import typer

from listingwatch.terminal import FormatOption, OutputFormat, emit

db_app = typer.Typer(
    help="The relational store (users, triage, saved searches): SQLite under var/ or db.url.", no_args_is_help=True
)
users_app = typer.Typer(help="Web app accounts and API tokens.", no_args_is_help=True)
triage_app = typer.Typer(
    help=(
        "Analysts' decisions on flagged listings: confirmed, false positive, needs review.\n\n"
        "Each decision is appended (history is kept) and copied to the listing's index document. "
        "`triage export OUT.jsonl` writes current decisions as labelled examples for retraining."
    ),
    no_args_is_help=True,
)

ROLE_HELP = "analyst (search, triage), liaison (analyst + takedown), admin (+ users, sources)."
Ids = Annotated[list[str], typer.Argument(help="Listing ids (as shown in search results and the API).")]
Note = Annotated[str | None, typer.Option("--note", help="Why; kept with the decision.")]
By = Annotated[
    str | None,
    typer.Option("--by", help="The user deciding (default: $LISTINGWATCH_USER); must exist (`users add`)."),
]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's tables to the newest revision (also done on first use)."""
    from core.settings import get_settings
    from core.store import database_url, get_engine

    settings = get_settings()
    get_engine(settings)
    typer.echo(f"database up to date: {database_url(settings).split('@')[-1]}")


def _read_password(password_file: Path | None) -> str:
    from core.errors import ConfigError

    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as err:
            raise ConfigError(f"Cannot read the password file {password_file} ({err.strerror}).") from None
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name: letters, digits, '.', '-', '_'.")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)] = "analyst",
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="Read the password from this file instead of prompting.")
    ] = None,
) -> None:
    """Create an account for the web app."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import add_user

    password = _read_password(password_file)
    with session_scope(get_settings()) as session:
        add_user(session, name, role, password)
    typer.echo(f"added {role} {name}")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str | None, typer.Option("--label", help="What the token is for.")] = None,
) -> None:
    """Print a new API token (shown once; only its hash is stored). Send it as `Authorization: Bearer TOKEN`."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import create_token, require_user

    with session_scope(get_settings()) as session:
        token = create_token(session, require_user(session, name), label)
    typer.echo(token)


@users_app.command("list")
def users_list(fmt: FormatOption = OutputFormat.tsv) -> None:
    """Every account with its role."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import list_users

    with session_scope(get_settings()) as session:
        rows = [{"name": u.name, "role": u.role, "disabled": u.disabled} for u in list_users(session)]
    emit(rows, fmt, title=f"{len(rows)} users")


def _decide(ids: list[str], decision: str, note: str | None, by: str | None) -> None:
    from elasticsearch import TransportError

    from core.errors import ConfigError
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.triage import record_decision
    from core.store.users import require_user
    from index_config.client import get_client
    from index_config.manage import listings_alias
    from index_config.triage import write_triage

    by = by or get_settings().user
    if not by:
        raise ConfigError("Say who decides: pass --by NAME or set LISTINGWATCH_USER.")
    settings = get_settings()
    client = get_client(settings)
    try:
        found = client.mget(index=listings_alias(settings), ids=ids, source=False)["docs"]
        unknown = [d["_id"] for d in found if not d.get("found")]
    except TransportError:
        unknown = []  # the node is down: store the decision; the search catches up when it is written
    if unknown:
        raise ConfigError(
            f"No listing with id {', '.join(unknown)} in the index; nothing was recorded. Copy ids from the "
            "search page or `/api/search`."
        )
    with session_scope(settings) as session:
        user = require_user(session, by)
        decisions = [record_decision(session, i, decision, user, note) for i in ids]
    for d in decisions:
        try:
            indexed = write_triage(client, settings, d)
        except TransportError:
            indexed = False
        where = "" if indexed else " (not in the index: the decision is stored, the search will not show it)"
        typer.echo(f"{d.listing_id}\t{d.decision}{where}")


@triage_app.command("confirm")
def triage_confirm(ids: Ids, note: Note = None, by: By = None) -> None:
    """Mark listings as confirmed sales of illicit drugs."""
    _decide(ids, "confirmed", note, by)


@triage_app.command("false-positive")
def triage_false_positive(ids: Ids, note: Note = None, by: By = None) -> None:
    """Mark listings as wrongly flagged."""
    _decide(ids, "false_positive", note, by)


@triage_app.command("review")
def triage_review(ids: Ids, note: Note = None, by: By = None) -> None:
    """Mark listings as needing another look."""
    _decide(ids, "needs_review", note, by)


@triage_app.command("export")
def triage_export(out: Annotated[Path, typer.Argument(help="JSONL file to write (replaced atomically).")]) -> None:
    """Write current confirmed / false-positive decisions as labelled examples (corpus hand-written format)."""
    from core.settings import get_settings
    from listingwatch.jobs.retrain import gather_triage_labels

    labels = gather_triage_labels(get_settings(), out)
    typer.echo(
        f"wrote {labels.rows} labelled examples to {out} ({labels.skipped} decisions skipped: "
        "needs review or not in the index); `listingwatch model train --triage` trains on them"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(triage_app, name="triage")
