"""Tell listing pages from pages that only look like one: bot challenges, login walls, error pages.

These must never be indexed as listings (an analyst would be reporting a Cloudflare page),
but they are worth counting: a source that starts answering with challenges needs attention.
"""

import re

from core.schema import PageKind

_CHALLENGE = re.compile(
    r"cf-challenge|challenge-platform|cf_chl_|just a moment\.\.\.|checking your browser|"
    r"verify you are (?:a )?human|are you a robot|ddos protection by|attention required!|g-recaptcha|h-captcha",
    re.IGNORECASE,
)
_PASSWORD_INPUT = re.compile(r"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
_LOGIN_WORDS = re.compile(r"\b(?:log ?in|sign ?in|members only|iniciar sesión|login required)\b", re.IGNORECASE)
_LOGIN_PATH = re.compile(r"/(?:login|signin|sign-in|auth|account/login)\b", re.IGNORECASE)


def detect_page_kind(status: int, url: str, html: str) -> tuple[PageKind, str | None]:
    """The kind of page and, for non-listings, the reason to report ("bot_challenge", "login_wall", "http_500")."""
    head = html[:20_000]
    if _CHALLENGE.search(head):
        return "bot_challenge", "bot_challenge"
    if _PASSWORD_INPUT.search(head) and (_LOGIN_WORDS.search(head) or _LOGIN_PATH.search(url)):
        return "login_wall", "login_wall"
    if status >= 400:
        return "error", f"http_{status}"
    return "listing", None
