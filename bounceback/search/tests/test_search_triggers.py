"""The search index is kept by database triggers: a migration must never lose one."""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _installed_by_migrations(vendor: str) -> set[str]:
    # 0003 replaces triggers 0002 made under the same names, so 0002's list is the set.
    module = importlib.import_module("bounceback.search.migrations.0002_full_text_index")
    statements = {"sqlite": module.SQLITE_UP, "postgresql": module.PG_UP}[vendor]
    return {
        match.group(1) for sql in statements if (match := re.match(r"\s*CREATE TRIGGER (\w+)", sql))
    }


def test_every_search_trigger_is_in_the_migrated_database() -> None:
    # Given the test database, built by running every migration in order
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        present = {row[0] for row in cursor.fetchall()}

    # Then every trigger the search migrations create is there: a later migration
    # that remade a table (SQLite drops a table's triggers with it) would lose it
    expected = _installed_by_migrations(connection.vendor)
    assert len(expected) >= 5
    assert expected <= present, f"missing after migrate: {sorted(expected - present)}"
