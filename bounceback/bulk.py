"""Writing many rows of any model with a few statements (a breakdown's outreach to
a hundred thousand customers).

Django's bulk_create prepares every value of every row through the field
machinery; at outreach scale that alone takes longer than the goal. These
helpers write any model's rows the way transactions/bulk_writes.py does:
multi-row statements on SQLite; on PostgreSQL, COPY for inserts and arrays
through unnest() for updates (psycopg parses placeholders in Python, so
thousands of them cost more than the query). Values that are the same for every
row are prepared once.

Ids are allocated before the insert (the sequence on PostgreSQL; on SQLite the
IMMEDIATE transaction holds the write lock, so the next ids are ours), which
lets a case's reference be written with the case and keeps rows and ids paired
without relying on the order RETURNING hands them back in.

Callers are the apps' own set-based writers (cases/bulk.py, timers/bulk.py,
outbox and interactions), each for its own tables, inside the caller's
database transaction, with values already checked.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, connections, models
from django.utils import timezone

# Bound parameters per SQLite statement, under its 32,766 limit.
SQLITE_PARAMS = 30_000

T = TypeVar("T")


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fields(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {f.attname: f for f in model._meta.concrete_fields}


def _column(field: models.Field[Any, Any]) -> str:
    return connection.ops.quote_name(field.column or field.attname)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`; call inside the writing transaction."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One string back rather than `count` rows: psycopg builds a
            # Python row per value, which took longer than the sequence.
            # The sequence is looked up once, not once per id.
            cursor.execute(
                "SELECT string_agg(nextval(s.seq)::text, ',') "
                "FROM (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) AS s, "
                "generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return list(map(int, cursor.fetchone()[0].split(",")))
        # AUTOINCREMENT never reuses an id, so start after the highest ever given.
        cursor.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {_table(model)}), 0))",
            [table],
        )
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


def adapt_datetimes(values: Sequence[datetime | None]) -> list[Any]:
    """Datetimes as the backend stores them (SQLite keeps naive UTC text)."""
    if connection.vendor == "postgresql":
        return list(values)
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(v) for v in values]


def _column_values(field: models.Field[Any, Any], values: Sequence[Any]) -> list[Any]:
    if isinstance(field, models.DateTimeField):
        return adapt_datetimes(values)
    if isinstance(field, models.JSONField):
        return [json.dumps(v) for v in values]
    return list(values)


# PostgreSQL: a column's values travel as one delimited string split by the
# server (string_to_array), not as a Python list: psycopg dumps list elements
# one by one in Python, which took longer than the inserts. These two control
# characters never occur in what we write; any that did would be replaced.
_SEP, _NULL = "\x1f", "\x1e"
_CLEAN = str.maketrans({_SEP: " ", _NULL: " "})


def _pg_text(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_CLEAN)


def _pg_array(field: models.Field[Any, Any]) -> str:
    kind = field.db_type(connection) or "text"
    if kind == "jsonb":
        return "string_to_array(%s, %s, %s)::jsonb[]"
    return f"string_to_array(%s, %s, %s)::{kind}[]"


def _pg_params(values: Sequence[Any]) -> list[Any]:
    """The three string_to_array arguments carrying one column's values."""
    if len(values) == 1 and _pg_text(values[0]) == "":
        # string_to_array('') is an empty array, not one empty string.
        return [_SEP, _SEP, _NULL]
    kinds = set(map(type, values))
    if kinds <= {int}:
        # Ids and counts: nothing to clean, and no Python call per value.
        return [_SEP.join(map(str, values)), _SEP, _NULL]
    if kinds <= {str}:
        joined = _SEP.join(values)
        # Cleaning value by value is slow; the whole column at once is exact
        # as long as no value held a separator (counted, else cleaned one by one).
        if joined.count(_SEP) == len(values) - 1 and _NULL not in joined:
            return [joined, _SEP, _NULL]
    return [_SEP.join(map(_pg_text, values)), _SEP, _NULL]


# PostgreSQL inserts go through COPY (text format): rows and their ids are
# ready, and COPY parses a row far faster than INSERT ... SELECT FROM unnest.
# COPY fires the same triggers and checks the same constraints as INSERT.
_COPY_NULL = "\\N"
_COPY_JOIN = "\x00"  # cannot occur in a PostgreSQL text value


def _copy_escape(texts: list[str]) -> list[str]:
    """Backslash, tab, newline and carriage return escaped as COPY's text format wants."""

    def escape(text: str) -> str:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )

    joined = _COPY_JOIN.join(texts)
    if joined.count(_COPY_JOIN) != len(texts) - 1:
        # A NUL inside a value: escape one by one and let PostgreSQL refuse it.
        return [escape(t) for t in texts]
    return escape(joined).split(_COPY_JOIN)


def _copy_plain(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _copy_column(values: Sequence[Any]) -> list[str]:
    """One column's values as COPY text fields."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return list(map(str, values))
    if kinds <= {str, type(None)}:
        texts = _copy_escape([v or "" for v in values])
    else:
        texts = _copy_escape(["" if v is None else _copy_plain(v) for v in values])
    if type(None) in kinds:
        return [_COPY_NULL if v is None else t for v, t in zip(values, texts, strict=True)]
    return texts


def _copy_constants(fields: list[models.Field[Any, Any]], values: list[Any]) -> list[str]:
    """Shared values as COPY fields, in PostgreSQL's own text form (as the casts made them)."""
    if not fields:
        return []
    casts = ", ".join(f"(%s::{f.db_type(connection)})::text" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {casts}", values)
        row = cursor.fetchone()
    return [_COPY_NULL if v is None else _copy_escape([v])[0] for v in row]


def _pg_copy(
    table: str,
    columns: str,
    const_fields: list[models.Field[Any, Any]],
    consts: list[Any],
    arrays: list[list[Any]],
) -> None:
    fields = [_copy_column(array) for array in arrays]
    prefix = "\t".join(_copy_constants(const_fields, consts))
    if prefix:
        fields.insert(0, [prefix] * len(fields[0]))
    data = "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"
    # The psycopg cursor under Django's wrapper: the same connection and transaction.
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(data)


def _constant(field: models.Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def bulk_insert(
    model: type[models.Model],
    *,
    varying: Mapping[str, Sequence[Any]],
    constant: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Insert rows: per-row values in `varying` (by attname), shared ones in
    `constant`; every other column gets the field's default (auto_now columns
    get `now`). Without an "id" column the database numbers the rows."""
    fields = _fields(model)
    constant = dict(constant or {})
    now = now or timezone.now()
    count = len(next(iter(varying.values())))
    if count == 0:
        return
    for name, field in fields.items():
        if name in varying or name in constant or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constant[name] = now
        else:
            constant[name] = field.get_default()
    unknown = (set(varying) | set(constant)) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no column {min(unknown)}")
    vary_names = list(varying)
    const_names = list(constant)
    columns = ", ".join(_column(fields[n]) for n in [*const_names, *vary_names])
    table = _table(model)
    arrays = [_column_values(fields[n], varying[n]) for n in vary_names]
    consts = [_constant(fields[n], constant[n]) for n in const_names]
    if connection.vendor == "postgresql":
        _pg_copy(table, columns, [fields[n] for n in const_names], consts, arrays)
        return
    with connection.cursor() as cursor:
        # SQLite: constants once in the SELECT, rows as a VALUES list.
        select = ["%s"] * len(const_names) + [f"column{i + 1}" for i in range(len(vary_names))]
        per_statement = max(1, (SQLITE_PARAMS - len(consts)) // max(1, len(vary_names)))
        one_row = "(" + ", ".join(["%s"] * len(vary_names)) + ")"
        rows = list(zip(*arrays, strict=True))
        for start in range(0, count, per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {', '.join(select)} "  # noqa: S608
                f"FROM (VALUES {', '.join([one_row] * len(chunk))})",
                [*consts, *[value for row in chunk for value in row]],
            )


def bulk_update(
    model: type[models.Model],
    *,
    ids: Sequence[int],
    varying: dict[str, Sequence[Any]] | None = None,
    constant: dict[str, Any] | None = None,
) -> None:
    """Set per-row values (`varying`, aligned with `ids`) and shared ones on those rows."""
    if not ids:
        return
    fields = _fields(model)
    varying = varying or {}
    constant = constant or {}
    table = _table(model)
    vary_names = list(varying)
    const_names = list(constant)
    consts = [_constant(fields[n], constant[n]) for n in const_names]
    arrays = [_column_values(fields[n], varying[n]) for n in vary_names]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sets = [
                f"{_column(fields[n])} = %s::{fields[n].db_type(connection)}" for n in const_names
            ]
            sets += [f"{_column(fields[n])} = u.c{i}" for i, n in enumerate(vary_names)]
            unnest = ", ".join(
                [
                    "string_to_array(%s, %s, %s)::bigint[]",
                    *(_pg_array(fields[n]) for n in vary_names),
                ]
            )
            names = ", ".join(["uid", *(f"c{i}" for i in range(len(vary_names)))])
            cursor.execute(
                f"UPDATE {table} AS t SET {', '.join(sets)} "  # noqa: S608 (names are ours)
                f"FROM unnest({unnest}) AS u({names}) WHERE t.id = u.uid",
                [*consts, *_pg_params(ids), *(p for array in arrays for p in _pg_params(array))],
            )
            return
        sets = [f"{_column(fields[n])} = %s" for n in const_names]
        if not vary_names:
            for start in range(0, len(ids), SQLITE_PARAMS):
                chunk = list(ids[start : start + SQLITE_PARAMS])
                cursor.execute(
                    f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (names are ours)
                    f"WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    [*consts, *chunk],
                )
            return
        sets += [f"{_column(fields[n])} = u.column{i + 2}" for i, n in enumerate(vary_names)]
        width = len(vary_names) + 1
        one_row = "(" + ", ".join(["%s"] * width) + ")"
        pairs = list(zip(ids, *arrays, strict=True))
        per_statement = max(1, (SQLITE_PARAMS - len(consts)) // width)
        for start in range(0, len(pairs), per_statement):
            part = pairs[start : start + per_statement]
            cursor.execute(
                f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (names are ours)
                f"FROM (VALUES {', '.join([one_row] * len(part))}) AS u "
                f"WHERE {table}.id = u.column1",
                [*consts, *[value for row in part for value in row]],
            )


def id_match(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """A WHERE fragment matching `column` against many ids with one parameter."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(string_to_array(%s, %s, %s)::bigint[])", _pg_params(ids)
    return f"{column} IN (SELECT value FROM json_each(%s))", [  # noqa: S608 (column is ours)
        json.dumps(list(ids))
    ]


# --- Lanes: a large job's chunks worked on side by side ------------------------------------


def lanes_for(*, rows: int, chunk: int) -> int:
    """How many connections to work `rows` rows through in chunks of `chunk` with.

    Most of a chunk's time is the database server's (inserts, index upkeep,
    foreign-key checks), so a second connection puts the machine's other core
    to work. Only on PostgreSQL (SQLite has one writer at a time) and only
    outside a transaction: lanes commit on connections of their own, which
    could not see the caller's uncommitted rows.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, min(settings.BOUNCEBACK_BULK_CONNECTIONS, -(-rows // max(1, chunk))))


def run_lanes(lanes: int, work: Callable[[threading.Event], T]) -> list[T]:
    """Run `work(stop)` on `lanes` threads, each on its own database connection.

    Each lane claims and commits chunks until none are left (the claim must be
    safe side by side: SELECT ... FOR UPDATE SKIP LOCKED). When a lane fails,
    `stop` is set so the others end after their current chunk, and the first
    error is raised here once all have ended. One lane runs in this thread.
    """
    stop = threading.Event()
    if lanes <= 1:
        return [work(stop)]
    results: list[Any] = [None] * lanes
    errors: list[BaseException] = []

    def lane(index: int) -> None:
        try:
            results[index] = work(stop)
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)
            stop.set()
        finally:
            # The connection this thread opened; nobody else can close it.
            connections.close_all()

    threads = [
        threading.Thread(target=lane, args=(i,), name=f"bulk-lane-{i}", daemon=True)
        for i in range(lanes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


_gc_lock = threading.Lock()
_gc_pausers = 0
# Whether the collector was on when the first chunk under way paused it.
_gc_state: dict[str, bool] = {}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a chunk builds its rows.

    A chunk makes hundreds of thousands of short-lived objects; each few
    hundred allocations set off a collection that walks every live object,
    which took about a third of an outreach's Python time (and Python time is
    what lanes in threads cannot share out). Reference counting still frees
    the rows; cycles wait for the end of the chunk. Safe across lanes: the
    collector comes back when the last chunk under way ends.
    """
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            was_enabled = gc.isenabled()
            gc.disable()
            _gc_state["enabled"] = was_enabled
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_state.get("enabled", True):
                gc.enable()
