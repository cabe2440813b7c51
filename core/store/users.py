"""Accounts and API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults). API tokens are random 256-bit
strings shown once; the store keeps only their SHA-256, which is enough for a secret with that
much entropy and lets every API request be checked with one indexed lookup.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store.models import ROLES, ApiToken, User

TOKEN_PREFIX = "lw_"  # noqa: S105 - a marker that makes leaked tokens easy to grep for, not a secret
MIN_PASSWORD = 10
LAST_USED_RESOLUTION = timedelta(minutes=1)
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


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"The password must have at least {MIN_PASSWORD} characters.")
    user.password_hash = _hasher.hash(password)


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


def create_token(session: Session, user: User, label: str | None = None) -> str:
    """A new API token for `user`; the returned string is the only copy of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_sha256=_digest(token), label=label))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user owning `token`, recording when it was last used (to the minute)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or row.user.disabled:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now  # at most one write a minute per token, not one per API call
    return row.user
