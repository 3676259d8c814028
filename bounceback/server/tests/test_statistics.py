"""The embedded database gets planner statistics after migrate and keeps them."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from bounceback.server.statistics import statistics_refresh
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL analyses by itself")
def test_migrate_leaves_the_sqlite_planner_statistics_built() -> None:
    # Given a customer, and statistics dropped (as on a database made before this release)
    CustomerFactory()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")

    # When migrate runs (nothing to apply)
    call_command("migrate", verbosity=0)

    # Then the planner knows the customers table's indexes again
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'customers_customer'")
        assert cursor.fetchone()[0] > 0
    # ...and the hourly refresh runs without complaint
    assert statistics_refresh() == 0
