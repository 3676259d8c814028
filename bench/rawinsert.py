"""The database's own insert rate for the rows the API is about to receive.

usage: rawinsert.py --setup SETUP_JSON --run-id ID --phase P -n N [--reps 3] [--row-commit M]

Builds the same rows the load generator will send for (run id, phase), turns
them into what Bounceback stores (customer and site references resolved to
ids, the values in the database's own formats) and writes them straight into
the live transactions_transaction table of the same database with the driver:

  executemany  all N rows in one executemany() and one COMMIT (the figure the
               ratios use; repeated --reps times, median reported)
  copy         PostgreSQL only: the same rows through COPY FROM STDIN
  row_commit   the first M rows, each INSERTed and COMMITted on its own

After each repetition the rows are deleted again (not timed; PostgreSQL is
VACUUMed), so the API then inserts those very rows into a table in the same
state. Same table, same indexes, same constraints (foreign keys included) and,
on SQLite, the same PRAGMAs Bounceback's settings apply (WAL,
synchronous=NORMAL, foreign_keys=ON). Row building and connecting are not
timed. Connection settings: DATABASE_URL (PostgreSQL) or BOUNCEBACK_DATA_DIR
(SQLite file bounceback.sqlite3), like the server. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rows import make_rows, parse_iso

TABLE = "transactions_transaction"
COLUMNS = (
    "customer_id",
    "kind",
    "source",
    "external_id",
    "amount",
    "currency",
    "occurred_at",
    "scheduled_for",
    "site_id",
    "product",
    "status",
    "attributes",
    "created_at",
    "updated_at",
)


def connect() -> tuple[Any, str, str]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        import psycopg

        return psycopg.connect(url), "postgresql", "%s"
    import sqlite3

    path = Path(os.environ.get("BOUNCEBACK_DATA_DIR", "var")) / "bounceback.sqlite3"
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn, "sqlite", "?"


def table_columns(conn: Any, db: str) -> list[tuple[str, bool, bool]]:
    """(name, not null, has default) of every column of the live table."""
    cur = conn.cursor()
    if db == "sqlite":
        cur.execute(f"PRAGMA table_info({TABLE})")
        return [(r[1], bool(r[3]), r[4] is not None or bool(r[5])) for r in cur.fetchall()]
    cur.execute(
        "SELECT column_name, is_nullable = 'NO', column_default IS NOT NULL OR is_identity = 'YES' "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (TABLE,),
    )
    rows = [tuple(r) for r in cur.fetchall()]
    conn.commit()
    return rows  # type: ignore[return-value]


def db_rows(db: str, api_rows: list[dict[str, Any]], setup: dict[str, Any]) -> list[tuple]:
    """The API bodies as the stored column values, in COLUMNS order."""
    by_id = {c["id"]: c["id"] for c in setup["customers"]}
    by_email = {c["email"].lower(): c["id"] for c in setup["customers"]}
    by_ext = {(c["source"], c["external_id"]): c["id"] for c in setup["customers"]}
    sites = setup["sites"]
    now = datetime.now(UTC)
    if db == "sqlite":
        # Django's SQLite backend stores aware datetimes as naive UTC text,
        # decimals as text, JSON as text.
        def ts(v: datetime | None) -> Any:
            return None if v is None else v.replace(tzinfo=None).isoformat(" ")

        def js(v: dict[str, Any]) -> Any:
            return json.dumps(v)

        def money(v: str) -> Any:
            return v
    else:
        from decimal import Decimal

        from psycopg.types.json import Jsonb

        def ts(v: datetime | None) -> Any:
            return v

        def js(v: dict[str, Any]) -> Any:
            return Jsonb(v)

        def money(v: str) -> Any:
            return Decimal(v)

    out = []
    for r in api_rows:
        if "customer_id" in r:
            customer = by_id[r["customer_id"]]
        elif "customer_email" in r:
            customer = by_email[r["customer_email"].lower()]
        else:
            customer = by_ext[(r["customer_source"], r["customer_external_id"])]
        out.append(
            (
                customer,
                r["kind"],
                r["source"],
                r["external_id"],
                money(r["amount"]),
                r["currency"],
                ts(parse_iso(r["occurred_at"])),
                ts(parse_iso(r.get("scheduled_for"))),
                sites[r["site"]] if r.get("site") else None,
                r.get("product", ""),
                r.get("status", "completed"),
                js(r.get("attributes", {})),
                ts(now),
                ts(now),
            )
        )
    return out


class Raw:
    def __init__(self, conn: Any, db: str, ph: str):
        self.conn, self.db = conn, db
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            TABLE, ", ".join(COLUMNS), ", ".join([ph] * len(COLUMNS))
        )
        cur = conn.cursor()
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLE}")
        self.max_id = cur.fetchone()[0]
        if db == "postgresql":
            conn.commit()

    def begin(self, cur: Any) -> None:
        if self.db == "sqlite":
            cur.execute("BEGIN IMMEDIATE")  # as Django's transaction_mode=IMMEDIATE

    def executemany(self, rows: list[tuple]) -> float:
        cur = self.conn.cursor()
        t0 = time.perf_counter()
        self.begin(cur)
        cur.executemany(self.sql, rows)
        self.conn.commit() if self.db == "postgresql" else cur.execute("COMMIT")
        return time.perf_counter() - t0

    def copy(self, rows: list[tuple]) -> float:
        cur = self.conn.cursor()
        t0 = time.perf_counter()
        with cur.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()
        return time.perf_counter() - t0

    def row_commit(self, rows: list[tuple]) -> float:
        cur = self.conn.cursor()
        t0 = time.perf_counter()
        for row in rows:
            self.begin(cur)
            cur.execute(self.sql, row)
            self.conn.commit() if self.db == "postgresql" else cur.execute("COMMIT")
        return time.perf_counter() - t0

    def clean(self) -> int:
        """Delete what this script inserted (not timed); VACUUM on PostgreSQL."""
        cur = self.conn.cursor()
        cur.execute(f"DELETE FROM {TABLE} WHERE id > {int(self.max_id)}")
        deleted = cur.rowcount
        if self.db == "postgresql":
            self.conn.commit()
            self.conn.autocommit = True
            cur.execute(f"VACUUM {TABLE}")
            self.conn.autocommit = False
        return deleted


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--setup", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--phase", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--row-commit", type=int, default=0, help="rows to insert one commit each")
    args = ap.parse_args()
    with open(args.setup) as fh:
        setup = json.load(fh)

    conn, db, ph = connect()
    cols = table_columns(conn, db)
    unknown = [
        n
        for n, notnull, has_default in cols
        if n != "id" and n not in COLUMNS and notnull and not has_default
    ]
    if unknown:
        raise SystemExit(f"{TABLE} has NOT NULL column(s) this script does not fill: {unknown}")
    api_rows = make_rows(args.run_id, args.phase, args.n, setup["customers"])
    rows = db_rows(db, api_rows, setup)
    raw = Raw(conn, db, ph)
    out: dict[str, Any] = {"db": db, "n": args.n, "phase": args.phase, "columns": list(COLUMNS)}

    def measure(name: str, fn: Any, subset: list[tuple], reps: int) -> None:
        times = []
        for _ in range(reps):
            times.append(fn(subset))
            deleted = raw.clean()
            if deleted != len(subset):
                raise SystemExit(f"{name}: inserted {len(subset)} rows but deleted {deleted}")
        t = statistics.median(times)
        out[name] = {
            "n": len(subset),
            "s": round(t, 4),
            "rows_per_s": round(len(subset) / t, 1),
            "reps": reps,
            "rows_per_s_each": [round(len(subset) / x, 1) for x in times],
        }

    measure("executemany", raw.executemany, rows, args.reps)
    if db == "postgresql":
        measure("copy", raw.copy, rows, args.reps)
    if args.row_commit:
        measure("row_commit", raw.row_commit, rows[: args.row_commit], 1)
    conn.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
