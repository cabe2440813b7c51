"""`listingwatch db|users|triage`: the relational store of accounts and analysts' decisions.

`users add NAME --role analyst` creates an account (password from a prompt or --password-file),
`users token NAME` prints a new API token for scripts (`Authorization: Bearer TOKEN`), valid 90
days unless `--days`; `users disable|enable|role|passwd|logout` manage an account (each ends the
user's open sessions), `users tokens NAME` lists tokens and `users revoke ID` withdraws one;
`users log` shows the authentication log.
`triage confirm ID...` records decisions from a terminal, `triage export OUT.jsonl` writes the
current decisions as labelled training examples.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from listingwatch.terminal import FormatOption, OutputFormat, emit

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from core.store import User

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
    days: Annotated[int, typer.Option("--days", min=1, help="Days until the token expires.")] = 90,
) -> None:
    """Print a new API token (shown once; only its hash is stored). Send it as `Authorization: Bearer TOKEN`."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import create_token, record_auth_event, require_user

    with session_scope(get_settings()) as session:
        token = create_token(session, require_user(session, name), label, days)
        record_auth_event(session, name, "cli", "token_created", f"expires in {days} days")
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


def _change(name: str, what: str, change: Callable[["Session", "User"], None]) -> None:
    """Apply `change` to user `name`, log it, and make running web apps drop cached tokens at once."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import credentials_changed, record_auth_event, require_user

    settings = get_settings()
    with session_scope(settings) as session:
        user = require_user(session, name)
        change(session, user)
        record_auth_event(session, name, "cli", what)
    credentials_changed(settings)
    typer.echo(f"{name}: {what.replace('_', ' ')}")


UserName = Annotated[str, typer.Argument(help="The account's login name.")]


@users_app.command("disable")
def users_disable(name: UserName) -> None:
    """Stop an account: no login, its sessions end now, its API tokens within seconds."""
    from core.store.users import set_disabled

    _change(name, "disabled", lambda _s, u: set_disabled(u, True))


@users_app.command("enable")
def users_enable(name: UserName) -> None:
    """Let a disabled account log in again (its old sessions stay ended)."""
    from core.store.users import set_disabled

    _change(name, "enabled", lambda _s, u: set_disabled(u, False))


@users_app.command("role")
def users_role(name: UserName, role: Annotated[str, typer.Argument(help=ROLE_HELP)]) -> None:
    """Give an account another role; its sessions end, so the new role applies from the next login."""
    from core.store.users import set_role

    _change(name, f"role_{role}"[:32], lambda _s, u: set_role(u, role))


@users_app.command("passwd")
def users_passwd(
    name: UserName,
    password_file: Annotated[
        Path | None, typer.Option("--password-file", help="Read the new password from this file instead of prompting.")
    ] = None,
) -> None:
    """Set a new password; every open session of the account ends."""
    from core.store.users import set_password

    password = _read_password(password_file)
    _change(name, "password_changed", lambda s, u: set_password(s, u, password))


@users_app.command("logout")
def users_logout(name: UserName) -> None:
    """End every web session of an account, wherever it is logged in (API tokens stay valid)."""
    from core.store.users import end_sessions

    _change(name, "logged_out_everywhere", lambda _s, u: end_sessions(u))


@users_app.command("tokens")
def users_tokens(name: UserName) -> None:
    """List an account's API tokens: id, created, last used, expires, label (never the tokens themselves)."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import require_user, tokens_of

    def when(value: "datetime | None") -> str:
        return value.strftime("%Y-%m-%dT%H:%MZ") if value else "-"

    with session_scope(get_settings()) as session:
        rows = tokens_of(session, require_user(session, name))
    typer.echo("id\tcreated\tlast used\texpires\tlabel")
    for t in rows:
        typer.echo(f"{t.id}\t{when(t.created_at)}\t{when(t.last_used_at)}\t{when(t.expires_at)}\t{t.label or ''}")


@users_app.command("revoke")
def users_revoke(
    token_or_id: Annotated[str, typer.Argument(help="A token id from `users tokens NAME`, or the token itself.")],
) -> None:
    """Withdraw an API token; it stops working at once."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import credentials_changed, record_auth_event, revoke_token

    settings = get_settings()
    with session_scope(settings) as session:
        info = revoke_token(session, token_or_id)
        record_auth_event(session, info.user, "cli", "token_revoked", f"token {info.id}")
    credentials_changed(settings)
    typer.echo(f"revoked token {info.id} of {info.user}")


@users_app.command("log")
def users_log(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many events, newest first.")] = 50,
) -> None:
    """The authentication log: when, user, address, outcome (never a password or token)."""
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import recent_auth_events

    with session_scope(get_settings()) as session:
        for e in recent_auth_events(session, limit):
            typer.echo(f"{e.at:%Y-%m-%dT%H:%M:%SZ}\t{e.user_name}\t{e.address}\t{e.outcome}\t{e.detail or ''}")


def _decide(ids: list[str], decision: str, note: str | None, by: str | None) -> None:
    from core.errors import ConfigError
    from core.settings import get_settings
    from index_config.client import get_client
    from index_config.triage import decide

    by = by or get_settings().user
    if not by:
        raise ConfigError("Say who decides: pass --by NAME or set LISTINGWATCH_USER.")
    settings = get_settings()
    for d in decide(get_client(settings), settings, by, ids, decision, note):
        typer.echo(f"{d.listing_id}\t{d.decision}")


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
