"""Accounts and API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults). API tokens are random 256-bit
strings shown once; the store keeps only their SHA-256, which is enough for a secret with that
much entropy and lets every API request be checked with one indexed lookup.

Credentials have a lifecycle: tokens expire (`DEFAULT_TOKEN_DAYS`) and can be revoked; every
change that should end a user's sessions (password, role, disabling, "log out everywhere")
bumps the user's `session_generation`, which every session cookie carries and every request
compares. `credentials_changed` stamps a file under var/ so web processes drop their token
cache at once instead of after its few seconds.
"""

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.settings import Settings
from core.store.models import ROLES, ApiToken, AuthEvent, User

TOKEN_PREFIX = "lw_"  # noqa: S105 - a marker that makes leaked tokens easy to grep for, not a secret
MIN_PASSWORD = 10
LAST_USED_RESOLUTION = timedelta(minutes=1)
DEFAULT_TOKEN_DAYS = 90
auth_log = logging.getLogger("listingwatch.auth")
_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the time the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ListingwatchError):
    """A user name, role, password or token that cannot be used."""


def _check(name: str, role: str, password: str) -> list[str]:
    problems = []
    if not name or len(name) > 128 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        problems.append("the name must be 1-128 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        problems.append(f"the role must be one of {', '.join(ROLES)} (got {role!r})")
    if len(password) < MIN_PASSWORD:
        problems.append(f"the password must have at least {MIN_PASSWORD} characters")
    return problems


def add_user(session: Session, name: str, role: str, password: str) -> User:
    """Create a user; raises `UserError` naming every problem at once."""
    problems = _check(name, role, password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        problems.append(f"a user named {name!r} exists already")
    if problems:
        raise UserError(f"Cannot add user: {'; '.join(problems)}.")
    user = User(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise UserError(f"Cannot add user: a user named {name!r} exists already.") from None
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session cookie of `user` (their API tokens stay valid)."""
    user.session_generation = (user.session_generation or 0) + 1


def set_password(session: Session, user: User, password: str) -> None:
    """A new password; the old sessions end with it (a stolen cookie must not outlive the change)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"The password must have at least {MIN_PASSWORD} characters.")
    user.password_hash = _hasher.hash(password)
    end_sessions(user)


def set_disabled(user: User, disabled: bool) -> None:
    """Disable or enable login, sessions and tokens of `user`; ends the current sessions either way."""
    user.disabled = disabled
    end_sessions(user)


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise UserError(f"The role must be one of {', '.join(ROLES)} (got {role!r}).")
    user.role = role
    end_sessions(user)


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def require_user(session: Session, name: str) -> User:
    user = get_user(session, name)
    if user is None:
        raise UserError(f"No user named {name!r}; create one with `listingwatch users add {name} --role analyst`.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None (same work whether or not the name exists)."""
    user = get_user(session, name)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, label: str | None = None, days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A new API token for `user`, valid `days` days; the returned string is the only copy of it."""
    if days < 1:
        raise UserError("A token must be valid for at least one day (--days).")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days)
    session.add(ApiToken(user=user, token_sha256=_digest(token), label=label, expires_at=expires))
    session.flush()
    return token


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


def tokens_of(session: Session, user: User) -> list[TokenInfo]:
    """`user`'s API tokens (never the secrets: only ids and dates), newest first."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    return [TokenInfo(t.id, user.name, t.label, t.created_at, t.last_used_at, t.expires_at) for t in rows]


def revoke_token(session: Session, token_or_id: str) -> TokenInfo:
    """Delete a token, named by its id (from `tokens_of`) or by the token itself; raises `UserError` if none."""
    if token_or_id.isdigit():
        row = session.get(ApiToken, int(token_or_id))
    else:
        row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token_or_id)))
    if row is None:
        raise UserError("No such API token; `listingwatch users tokens NAME` lists the ids.")
    info = TokenInfo(row.id, row.user.name, row.label, row.created_at, row.last_used_at, row.expires_at)
    session.delete(row)
    session.flush()
    return info


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user owning `token` if it has not expired, recording when it was last used (to the minute)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or row.user.disabled:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now  # at most one write a minute per token, not one per API call
    return row.user


def record_auth_event(session: Session, user_name: str, address: str, outcome: str, detail: str | None = None) -> None:
    """Append to the authentication log (table `auth_events` and the `listingwatch.auth` logger).

    Callers pass the name typed and an outcome word; a password or token never reaches here.
    """
    name, addr = user_name[:128], address[:64]
    session.add(AuthEvent(user_name=name, address=addr, outcome=outcome[:32], detail=detail[:200] if detail else None))
    auth_log.info("auth user=%r address=%s outcome=%s%s", name, addr, outcome, f" ({detail})" if detail else "")


def recent_auth_events(session: Session, limit: int = 100) -> list[AuthEvent]:
    return list(session.scalars(select(AuthEvent).order_by(AuthEvent.id.desc()).limit(limit)))


def stamp_path(settings: Settings) -> Path:
    return settings.var_dir / "credentials-changed"


def credentials_changed(settings: Settings) -> None:
    """Tell web processes sharing this var/ to drop cached token principals now (revoke, disable, role)."""
    path = stamp_path(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(8))
