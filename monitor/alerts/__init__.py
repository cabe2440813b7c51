"""Alerts: subscriptions, event detection, rendering, channels (SMTP, webhooks) and the once-only delivery log."""
