"""The relational store: users, API tokens, triage decisions, saved searches, takedown cases and alerts.

Elasticsearch holds what was crawled; this holds what people decided about it, which must
never be lost to an index migration or re-crawl. SQLite under `var/` by default, any
SQLAlchemy URL (`db.url`, e.g. Postgres) in production; the schema is created and upgraded by
Alembic migrations shipped inside this package (`listingwatch db upgrade`, or automatically
the first time a process opens the store).
"""

# The takedown case and alert tables share this Base; loading them here keeps `Base.metadata` complete
# wherever the store is used, which Alembic's comparisons rely on.
import core.store.alerts
import core.store.takedowns  # noqa: F401
from core.store.db import database_url, get_engine, session_scope, upgrade
from core.store.models import ROLES, TRIAGE_DECISIONS, ApiToken, Base, SavedSearch, TriageDecision, User

__all__ = [
    "ROLES",
    "TRIAGE_DECISIONS",
    "ApiToken",
    "Base",
    "SavedSearch",
    "TriageDecision",
    "User",
    "database_url",
    "get_engine",
    "session_scope",
    "upgrade",
]
