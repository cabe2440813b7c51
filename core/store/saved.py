"""Saved searches: an analyst's query string, with what the last pipeline run added to it."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ListingwatchError
from core.store.models import SavedSearch, User

MAX_QUERY = 4_000


def save_search(session: Session, user: User, name: str, query: str) -> SavedSearch:
    name = name.strip()
    if not name or len(name) > 200 or len(query) > MAX_QUERY:
        raise ListingwatchError(f"A saved search needs a name of 1-200 characters and a query under {MAX_QUERY}.")
    row = SavedSearch(user=user, name=name, query=query, checked_at=datetime.now(UTC), new_matches=0)
    session.add(row)
    session.flush()
    return row


def searches_of(session: Session, user: User) -> list[SavedSearch]:
    return list(session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.id)))


def all_searches(session: Session) -> list[SavedSearch]:
    return list(session.scalars(select(SavedSearch).order_by(SavedSearch.id)))


def delete_search(session: Session, user: User, search_id: int) -> bool:
    row = session.get(SavedSearch, search_id)
    if row is None or row.user_id != user.id:
        return False
    session.delete(row)
    return True


def record_check(row: SavedSearch, total: int, new_matches: int, at: datetime) -> None:
    row.total = total
    row.new_matches = new_matches
    row.checked_at = at
