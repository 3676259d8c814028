"""Writing thousands of transactions with a handful of statements.

Django's bulk_create and bulk_update prepare every value of every row through
the field machinery and build CASE WHEN expressions in Python; for a 10,000-row
ingest that was most of the time spent. These writers take values already
checked by the services and hand them to the driver in bulk, adapted exactly as
the fields would adapt them. Only transactions/services.py calls them, inside
its own database transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from bounceback.transactions.models import Transaction

# The written columns an insert and an update share, in the order the row tuples
# carry them (services._adapted builds these values).
_WRITTEN = (
    "amount",
    "currency",
    "occurred_at",
    "scheduled_for",
    "site_id",
    "product",
    "status",
    "attributes",
)
# Columns in the order the row tuples carry them.
INSERTED = ("customer_id", "kind", "source", "external_id", *_WRITTEN, "created_at", "updated_at")
# The columns an upsert may change on a stored row, then its id last.
UPDATED = ("customer_id", "kind", *_WRITTEN, "updated_at")
# Rows per INSERT: 14 parameters each stays under every backend's parameter limit.
INSERT_CHUNK = 1000


class Adapters:
    """The current connection's value adapters, looked up once per batch.

    `connection` is a per-thread proxy; resolving it for each of 40,000 values
    was a measurable share of an ingest.
    """

    def __init__(self) -> None:
        ops = connection.ops
        self.datetime: Callable[[datetime | None], Any] = ops.adapt_datetimefield_value
        self._decimal = ops.adapt_decimalfield_value

    def amount(self, value: Decimal) -> Any:
        return self._decimal(value, 12, 2)

    def json(self, value: dict[str, Any]) -> Any:
        # PostgreSQL takes the JSON as text in an array cast to jsonb (see insert_rows).
        return json.dumps(value)


# External ids per look-up statement.
LOOKUP_CHUNK = 2000


def ids_by_external_id(*, source: str, external_ids: Sequence[str]) -> dict[str, int]:
    """Stored transaction ids for these external ids of one source (missing ones absent)."""
    table = connection.ops.quote_name(Transaction._meta.db_table)
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter: psycopg parses a statement's placeholders in
            # Python, so thousands of them cost more than the query.
            cursor.execute(
                f"SELECT external_id, id FROM {table} "  # noqa: S608 (names are ours)
                "WHERE source = %s AND external_id = ANY(%s)",
                [source, list(external_ids)],
            )
            found.update(cursor.fetchall())
            return found
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            chunk = list(external_ids[start : start + LOOKUP_CHUNK])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT external_id, id FROM {table} "  # noqa: S608 (names are ours)
                f"WHERE source = %s AND external_id IN ({marks})",
                [source, *chunk],
            )
            found.update(cursor.fetchall())
    return found


def insert_rows(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert rows (values in INSERTED order, adapted) and return their ids, in order.

    Multi-row INSERT ... RETURNING gives the ids back in the order of the VALUES,
    which is what Django's own bulk_create relies on for both backends.
    """
    table = connection.ops.quote_name(Transaction._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in INSERTED)
    if connection.vendor == "postgresql":
        return _insert_rows_unnest(table, columns, rows)
    one_row = "(" + ", ".join(["%s"] * len(INSERTED)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (names are ours)
                + ", ".join([one_row] * len(chunk))
                + " RETURNING id"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


# PostgreSQL array types of the INSERTED columns, in order.
_PG_ARRAYS = (
    "bigint[]",
    "text[]",
    "text[]",
    "text[]",
    "numeric[]",
    "text[]",
    "timestamptz[]",
    "timestamptz[]",
    "bigint[]",
    "text[]",
    "text[]",
    "text[]::jsonb[]",
    "timestamptz[]",
    "timestamptz[]",
)


def _insert_rows_unnest(table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(column arrays) RETURNING id.

    Fourteen array parameters instead of one placeholder per value (psycopg
    parses placeholders in Python); rows come back in the order of the arrays,
    as Django's own bulk_create on PostgreSQL relies on.
    """
    if not rows:
        return []
    arrays = [list(column) for column in zip(*rows, strict=True)]
    casts = ", ".join(f"%s::{kind}" for kind in _PG_ARRAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 (names are ours)
            f"SELECT * FROM unnest({casts}) RETURNING id",
            arrays,
        )
        return [row[0] for row in cursor.fetchall()]


def update_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Rewrite stored rows: each tuple holds the UPDATED values, then the row's id."""
    if not rows:
        return
    table = connection.ops.quote_name(Transaction._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in UPDATED)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608 (names are ours)
            rows,
        )
