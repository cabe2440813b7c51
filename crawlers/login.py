"""Logging in to sites that show listings only to members, without the credentials leaking anywhere.

A source declares *how* to log in (form page, field selectors, a "logged in" check) and
*where* the credentials live (``env:PREFIX`` reads ``PREFIX_USERNAME``/``PREFIX_PASSWORD``;
``file:PATH#KEY`` reads a YAML secrets file), never the credentials themselves. The form
is submitted over plain HTTP with `form2request` (hidden fields such as CSRF tokens kept);
Scrapy's cookie jar keeps the session, and browser tabs get the same cookies before they
navigate. Credentials are held in memory only: error messages name the variable or file,
WARC request records have them scrubbed (`scrub`), logs never see them.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml
from form2request import form2request
from parsel import Selector
from scrapy.http import Response, TextResponse

from core.errors import ConfigError

REDACTED = b"<redacted>"


LOGIN_META = "listingwatch_login_request"  # the session's own login page and form post (not pages)
LOGIN_WALL_META = "listingwatch_login_wall"  # the page answered with a redirect to the login form


class LoginError(ConfigError):
    """The login step failed; the message names the source's settings, never a credential."""


@dataclass(frozen=True)
class Credentials:
    username: str = field(repr=False)
    password: str = field(repr=False)

    def secrets(self) -> list[bytes]:
        """Every spelling in which a credential can appear in a request (raw, form-encoded, URL-encoded)."""
        out: set[bytes] = set()
        for value in (self.username, self.password):
            if value:
                out |= {value.encode(), quote_plus(value).encode(), quote(value, safe="").encode()}
        return sorted(out, key=len, reverse=True)


def load_credentials(ref: str, source: str) -> Credentials:
    """Resolve ``env:PREFIX`` or ``file:PATH#KEY``; a missing piece is a `LoginError` saying what to set."""
    kind, _, rest = ref.partition(":")
    if kind == "env":
        names = (f"{rest}_USERNAME", f"{rest}_PASSWORD")
        values = [os.environ.get(n, "") for n in names]
        if not all(values):
            missing = " and ".join(n for n, v in zip(names, values, strict=True) if not v)
            raise LoginError(f"Source {source} logs in with {ref}: set {missing} in the environment.")
        return Credentials(*values)
    path, _, key = rest.partition("#")
    try:
        data = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not valid YAML"
        raise LoginError(f"Source {source}: the secrets file {path} cannot be read ({reason}).") from None
    entry = data.get(key) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or not entry.get("username") or not entry.get("password"):
        raise LoginError(f"Source {source}: {path} has no entry {key!r} with username and password.")
    return Credentials(str(entry["username"]), str(entry["password"]))


def scrub(data: bytes, secrets: list[bytes]) -> bytes:
    for secret in secrets:
        data = data.replace(secret, REDACTED)
    return data


def select(sel: Selector, selector: str) -> Selector | None:
    found = sel.xpath(selector.removeprefix("xpath:")) if selector.startswith("xpath:") else sel.css(selector)
    return found[0] if found else None


def login_form_request(
    response: Response,
    username_field: str,
    password_field: str,
    submit: str | None,
    creds: Credentials,
    source: str,
) -> tuple[str, str, dict[str, str], bytes]:
    """(method, url, headers, body) submitting the login form found on `response` with the credentials."""
    if not isinstance(response, TextResponse):
        raise LoginError(f"Source {source}: the login page {response.url} is not HTML.")
    sel = Selector(text=response.text, base_url=response.url)
    user, password = select(sel, username_field), select(sel, password_field)
    if user is None or password is None:
        missing = "login.username_field" if user is None else "login.password_field"
        raise LoginError(f"Source {source}: {missing} matches nothing on {response.url}; fix the selector.")
    form = user.xpath("ancestor::form[1]")
    if not form or not user.attrib.get("name") or not password.attrib.get("name"):
        raise LoginError(f"Source {source}: the login fields on {response.url} are not named inputs inside a form.")
    click = select(form[0], submit).root if submit and select(form[0], submit) is not None else None
    request = form2request(
        form[0], {user.attrib["name"]: creds.username, password.attrib["name"]: creds.password}, click=click
    )
    return request.method, request.url, dict(request.headers), request.body or b""


def logged_in(response: Response, check: str) -> bool:
    return isinstance(response, TextResponse) and select(Selector(text=response.text), check) is not None
