"""What an alert says, per channel: plain text, escaped HTML, our JSON, or a Slack/Teams `text` body.

Events carry ids, counts and links into the app, never a listing's crawled text: the reader
opens the link and sees the listing on the app's escaped page. The few strings that can come
from people or sites (a saved search's name, a source's error message, a URL) are escaped for
each channel: HTML-escaped in e-mail, `& < >` escaped for Slack's mrkdwn, data in JSON.
"""

import html
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

TITLES = {
    "new_offer": "New synthetic-drug offer",
    "relisting": "Relisting of a removed item",
    "saved_search": "New saved-search match",
    "overdue": "Reported item past the platform's promised time",
    "source_failed": "Source crawl failed twice in a row",
    "task_failed": "Airflow task failed",
}
MAX_FIELD = 300


@dataclass(frozen=True)
class Alert:
    """One event as a subscriber sees it."""

    event: str
    key: str
    occurred_at: str
    data: dict[str, Any]


def link(app_url: str, path: str) -> str:
    return app_url.rstrip("/") + path


def _clip(value: object) -> str:
    text = " ".join(str(value).split())  # no line breaks or control whitespace from a site's error message
    return text if len(text) <= MAX_FIELD else text[: MAX_FIELD - 1] + "…"


def fields(alert: Alert, app_url: str) -> list[tuple[str, str]]:
    """(label, value) lines of one alert; `link` last."""
    d = alert.data
    rows: list[tuple[str, object]] = []
    if alert.event == "new_offer":
        rows = [
            ("Listing", d.get("listing_id")),
            ("Site", d.get("site")),
            ("Platform", d.get("platform")),
            ("Score", d.get("score")),
            ("Substances", ", ".join(d.get("substances") or []) or "-"),
        ]
    elif alert.event == "relisting":
        rows = [("Listing", d.get("listing_id")), ("Relists", d.get("relist_of")), ("Platform", d.get("platform"))]
    elif alert.event == "saved_search":
        rows = [("Saved search", d.get("search_name")), ("Listing", d.get("listing_id"))]
    elif alert.event == "overdue":
        rows = [
            ("Listing", d.get("listing_id")),
            ("Platform", d.get("platform")),
            ("Reported", d.get("reported_at")),
            ("Promised hours", d.get("promised_hours")),
        ]
    elif alert.event == "source_failed":
        rows = [("Source", d.get("source")), ("Runs", ", ".join(d.get("runs") or [])), ("Last error", d.get("error"))]
    elif alert.event == "task_failed":
        rows = [
            ("DAG", d.get("dag_id")),
            ("Task", d.get("task_id")),
            ("Run", d.get("run_id")),
            ("Try", d.get("try_number")),
            ("Error", d.get("error")),
        ]
    rows.append(("When", alert.occurred_at))
    shown = [(label, _clip(value)) for label, value in rows if value not in (None, "")]
    return [*shown, ("Link", link(app_url, d.get("path", "/")))]


def subject(alerts: list[Alert]) -> str:
    if len(alerts) == 1:
        return f"[listingwatch] {TITLES[alerts[0].event]}"
    return f"[listingwatch] {len(alerts)} alerts ({', '.join(sorted({TITLES[a.event] for a in alerts}))})"


def plain_text(alerts: list[Alert], app_url: str) -> str:
    blocks = [
        "\n".join([TITLES[a.event], *(f"  {label}: {value}" for label, value in fields(a, app_url))]) for a in alerts
    ]
    return "\n\n".join(blocks) + "\n\nManage your alerts: " + link(app_url, "/alerts") + "\n"


def html_body(alerts: list[Alert], app_url: str) -> str:
    """Every value escaped: the HTML part of the e-mail carries no markup from anyone but us."""
    parts = []
    for a in alerts:
        items = []
        for label, value in fields(a, app_url):
            shown = html.escape(value)
            if label == "Link":
                shown = f'<a href="{html.escape(value, quote=True)}">{shown}</a>'
            items.append(f"<li><b>{html.escape(label)}:</b> {shown}</li>")
        parts.append(f"<h3>{html.escape(TITLES[a.event])}</h3><ul>{''.join(items)}</ul>")
    manage = html.escape(link(app_url, "/alerts"), quote=True)
    return f'<html><body>{"".join(parts)}<p><a href="{manage}">Manage your alerts</a></p></body></html>'


def slack_escape(text: str) -> str:
    """Slack's mrkdwn needs only these three escaped; Teams' `text` reads the same body."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(alerts: list[Alert], app_url: str) -> dict[str, str]:
    lines = []
    for a in alerts:
        values = fields(a, app_url)
        url = values[-1][1]
        # <URL|label> is Slack's link syntax; the URL is ours (app_url + an id path), quoted again to be sure.
        lines.append(f"*{slack_escape(TITLES[a.event])}* <{quote(url, safe=':/?=&#%')}|open in listingwatch>")
        lines += [f"• {slack_escape(label)}: {slack_escape(value)}" for label, value in values[:-1]]
    return {"text": "\n".join(lines)}


def json_body(alerts: list[Alert], app_url: str) -> dict[str, Any]:
    return {
        "source": "listingwatch",
        "alerts": [
            {
                "event": a.event,
                "key": a.key,
                "title": TITLES[a.event],
                "occurred_at": a.occurred_at,
                "link": link(app_url, a.data.get("path", "/")),
                "data": {k: v for k, v in a.data.items() if k != "path"},
            }
            for a in alerts
        ],
    }


def webhook_payload(alerts: list[Alert], app_url: str, body_format: str) -> bytes:
    body = slack_body(alerts, app_url) if body_format == "slack" else json_body(alerts, app_url)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
