"""The two ways an alert leaves: SMTP (STARTTLS, implicit TLS or a local plain relay) and an HTTP webhook.

Each send is bounded by `alerts.timeout_s` and raises `DeliveryFailed` with one sentence,
so the delivery loop can log it, back off and go on to the next subscriber.
"""

import smtplib
import ssl
from email.message import EmailMessage

import httpx

from core.settings import AlertsSettings
from monitor.alerts.render import Alert, html_body, plain_text, subject, webhook_payload


class DeliveryFailed(Exception):
    """One delivery did not go out; the message says why (kept in the delivery log)."""


def _tls_context(settings: AlertsSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)


def email_message(alerts: list[Alert], to: str, settings: AlertsSettings) -> EmailMessage:
    """Plain text first, escaped HTML as the alternative."""
    message = EmailMessage()
    message["Subject"] = subject(alerts)
    message["From"] = settings.smtp_from
    message["To"] = to
    message.set_content(plain_text(alerts, settings.app_url))
    message.add_alternative(html_body(alerts, settings.app_url), subtype="html")
    return message


def send_email(alerts: list[Alert], to: str, settings: AlertsSettings) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("no SMTP relay is set (alerts.smtp_host, LISTINGWATCH_ALERTS__SMTP_HOST)")
    message = email_message(alerts, to, settings)
    try:
        if settings.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s, context=_tls_context(settings)
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=_tls_context(settings))  # raises when the relay does not offer it
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as err:
        raise DeliveryFailed(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {type(err).__name__}: {err}") from None


def send_webhook(alerts: list[Alert], url: str, body_format: str, settings: AlertsSettings) -> None:
    payload = webhook_payload(alerts, settings.app_url, body_format)
    try:
        reply = httpx.post(
            url,
            content=payload,
            headers={"Content-Type": "application/json", "User-Agent": "listingwatch-alerts"},
            timeout=settings.timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as err:
        raise DeliveryFailed(f"webhook: {type(err).__name__}: {err}") from None
    if not reply.is_success:
        raise DeliveryFailed(f"webhook answered HTTP {reply.status_code}")
