"""Planner statistics for the embedded SQLite database.

PostgreSQL's autovacuum keeps its statistics fresh by itself; SQLite has none
until ANALYZE runs, and without them it picks a plainer index over a covering
one (the dashboards' aggregates read 25,000 cases from an index instead of the
table only when it knows the index is selective). So the statistics are built
after every migrate, and kept by SQLite's own `PRAGMA optimize` hourly, which
re-analyses only the tables that changed enough to need it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


def _sqlite(using: str) -> Any | None:
    connection = connections[using]
    return connection if connection.vendor == "sqlite" else None


def statistics_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """Build the SQLite planner's statistics (ANALYZE); nothing on other databases."""
    connection = _sqlite(using)
    if connection is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def statistics_refresh(*, now: datetime | None = None) -> int:
    """Hourly: let SQLite re-analyse the tables whose statistics went stale."""
    connection = _sqlite(DEFAULT_DB_ALIAS)
    if connection is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA optimize")
    return 0
