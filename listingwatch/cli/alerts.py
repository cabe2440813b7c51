"""`listingwatch alerts add|list|remove|send-test|run`: subscriptions and delivery from a terminal.

A subscription belongs to a user (`--user NAME`, default $LISTINGWATCH_USER): one event, an
optional filter, and one channel (an e-mail address or a webhook URL), sent at once or as an
hourly/daily digest. `alerts run` finds new events and delivers everything due; the pipeline
runs the same after every source run. See docs/webapp.md ("Alerts").
"""

import os
from typing import Annotated

import typer

alerts_app = typer.Typer(
    help=(
        "Alerts by e-mail or webhook: new synthetic offers, relistings, saved-search matches, overdue takedowns, "
        "failing sources and Airflow task failures.\n\n"
        "Example: listingwatch alerts add --user ana --on new_offer --filter 'substance=fentanyl' "
        "--webhook https://chat.example/hook --format slack"
    ),
    no_args_is_help=True,
)
User = Annotated[
    str | None, typer.Option("--user", help="Whose subscription (default: $LISTINGWATCH_USER); must exist.")
]


def _user_name(user: str | None) -> str:
    from core.errors import ConfigError

    name = user or os.environ.get("LISTINGWATCH_USER")
    if not name:
        raise ConfigError("Say whose subscription: pass --user NAME or set LISTINGWATCH_USER.")
    return name


@alerts_app.command("add")
def add(
    on: Annotated[
        str, typer.Option("--on", help="new_offer, relisting, saved_search, overdue, source_failed or task_failed.")
    ],
    email: Annotated[str | None, typer.Option("--email", help="Send to this e-mail address.")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST JSON to this http(s) URL.")] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="new_offer: a search query string (substance=fentanyl&score_min=0.95); saved_search: a search's "
            "name; relisting/overdue: a platform key; source_failed: a source; task_failed: a DAG id.",
        ),
    ] = None,
    digest: Annotated[str, typer.Option("--digest", help="none (at once), hourly or daily.")] = "none",
    fmt: Annotated[str, typer.Option("--format", help="Webhook body: json, or slack (Slack/Teams `text`).")] = "json",
    user: User = None,
) -> None:
    """Subscribe a user to one event on one channel."""
    from core.errors import ConfigError
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import require_user
    from monitor.alerts.subscriptions import NewSubscription, add_subscription

    if (email is None) == (webhook is None):
        raise ConfigError("Give exactly one of --email ADDRESS or --webhook URL.")
    sub = NewSubscription(
        event=on,
        target=email or webhook or "",
        channel="email" if email else "webhook",
        filter=filter_,
        body_format=fmt,
        digest=digest,
    )
    with session_scope(get_settings()) as db:
        row = add_subscription(db, require_user(db, _user_name(user)), sub)
        typer.echo(f"subscription {row.id}: {row.event} -> {row.channel} {row.target} (digest {row.digest})")


@alerts_app.command("list")
def list_(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's (default: everyone's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Subscriptions with their delivery counts (sent, waiting, given up) and last error."""
    import json

    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import require_user
    from listingwatch.terminal import visible
    from monitor.alerts.status import subscription_rows
    from monitor.alerts.subscriptions import subscriptions_of

    with session_scope(get_settings()) as db:
        owner = require_user(db, user) if user else None
        rows = subscription_rows(db, subscriptions_of(db, owner))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no subscriptions (add one with `listingwatch alerts add`)")
    for r in rows:
        line = (
            f"{r['id']:>4}  {r['user']}  {r['event']}{' [' + r['filter'] + ']' if r['filter'] else ''}  "
            f"{r['channel']} {r['target']}  digest {r['digest']}  sent {r['sent']}, waiting {r['pending']}, "
            f"given up {r['dead']}"
        )
        typer.echo(visible(line))
        if r["last_error"]:
            typer.echo(visible(f"      last error: {r['last_error']}"))


@alerts_app.command("remove")
def remove(
    subscription: Annotated[int, typer.Argument(help="The number `alerts list` shows.")],
    user: Annotated[str | None, typer.Option("--user", help="Only if it is this user's.")] = None,
) -> None:
    """Delete a subscription and its delivery log."""
    from core.errors import ListingwatchError
    from core.settings import get_settings
    from core.store import session_scope
    from core.store.users import require_user
    from monitor.alerts.subscriptions import remove_subscription

    with session_scope(get_settings()) as db:
        owner = require_user(db, user) if user else None
        if not remove_subscription(db, subscription, owner):
            whose = f" of {user}" if user else ""
            raise ListingwatchError(f"No subscription {subscription}{whose}; see `alerts list`.")
    typer.echo(f"subscription {subscription} removed")


@alerts_app.command("send-test")
def send_test(subscription: Annotated[int, typer.Argument(help="The number `alerts list` shows.")]) -> None:
    """Send a test alert through a subscription's channel now (not logged, not deduplicated)."""
    from core.errors import ListingwatchError
    from core.settings import get_settings
    from monitor.alerts.status import send_test as send

    error = send(get_settings(), subscription)
    if error:
        raise ListingwatchError(f"The test alert for subscription {subscription} did not go out: {error}.")
    typer.echo(f"test alert sent for subscription {subscription}")


@alerts_app.command("run")
def run() -> None:
    """Find new events for every subscription and deliver what is due (retries included); safe to run often.

    Exits 1 when a delivery failed in this pass (it is retried later), so cron mails you about it.
    """
    from core.settings import get_settings
    from listingwatch.terminal import visible
    from monitor.alerts.run import run_alerts

    report = run_alerts(get_settings())
    typer.echo(visible(report.describe()))
    if report.failed or report.dead:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
