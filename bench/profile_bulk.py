"""Where the time of one bulk ingest call goes (in-process, not a throughput figure).

usage: .venv/bin/python bench/profile_bulk.py [--postgres] [--batch 10000] [--customers 1000]
                                               [--resend] [--top 25]

Builds a fresh database (a temporary SQLite file, or with --postgres a fresh
PostgreSQL database bounceback_bench_profile (BENCH_PROFILE_PG_DB, through
BENCH_PG_ADMIN_URL), dropped afterwards unless BENCH_KEEP=1), migrates it,
creates customers and a token, then sends POST /api/transactions/bulk through
Django's test client (all middleware, django-ninja, the service, the response),
the same rows the benchmark sends:

  1. one call with timers around the service's steps and every SQL statement
     (count and time spent waiting on the database), so the call splits into
     request handling, parsing, customer lookup, storing, lifetime values;
  2. one more call (new rows) under cProfile: the top functions by own time
     and by cumulative time.

--resend profiles re-sending the rows of step 1 with about half changed (the
update path) instead of new rows in step 2.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) refuses a 10,000-item body; this
script raises it in its own process so the service can be profiled at the
documented maximum, and says so.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from typing import Any

import harness
from rows import make_rows

# name: (default, --quick default, help); there is no --quick here
CONFIG = harness.database_settings("BENCH_PROFILE_PG_DB", "bounceback_bench_profile")


def outcome(result: dict[str, Any]) -> str:
    return ", ".join(f"{k} {result[k]}" for k in ("created", "updated", "unchanged", "rejected"))


class Timers:
    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total[name] += time.perf_counter() - t0
                self.calls[name] += 1

        return timed

    def by_model(self, name: str, method: Any) -> Any:
        """Time a QuerySet method under "<name> <Model>"."""

        def timed(qs: Any, *args: Any, **kwargs: Any) -> Any:
            key = f"{name} {qs.model.__name__}"
            t0 = time.perf_counter()
            try:
                return method(qs, *args, **kwargs)
            finally:
                self.total[key] += time.perf_counter() - t0
                self.calls[key] += 1

        return timed


@contextmanager
def patched(obj: Any, attr: str, value: Any) -> Any:
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        setattr(obj, attr, old)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--resend", action="store_true")
    ap.add_argument(
        "--preload", type=int, default=0, help="rows stored first (not timed), for a fuller table"
    )
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=3, help="timed calls (the fastest is shown)")
    args = ap.parse_args()

    cfg = harness.Config(False, CONFIG)
    with harness.Run("profile", results_dir=None, keep=cfg.keep) as bench_run:
        db = harness.Database(
            "postgresql" if args.postgres else "sqlite",
            cfg,
            bench_run.workdir,
            pg_db=cfg.str("BENCH_PROFILE_PG_DB"),
            DEBUG="false",
            ALLOWED_HOSTS="testserver,127.0.0.1",
            SECRET_KEY=secrets.token_urlsafe(48),
            LOG_LEVEL="WARNING",
        )
        # This process is the one measured: it takes the database's environment.
        os.environ.pop("DATABASE_URL", None)
        os.environ.update(db.env)
        with db:
            try:
                run(args)
            finally:
                from django.db import connections

                connections.close_all()


def run(args: argparse.Namespace) -> None:
    harness.setup_django(migrate=True)
    from django.conf import settings
    from django.db import connection
    from django.db.models.query import QuerySet
    from django.test import Client
    from setup_db import prepare

    import bounceback.transactions.api as api_module
    import bounceback.transactions.services as svc

    setup = prepare(args.customers)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
    client = Client(HTTP_AUTHORIZATION=f"Bearer {setup['token']}")
    run_id = "p" + secrets.token_hex(3)

    def body(phase: str, variant: int = 0) -> bytes:
        rows = make_rows(run_id, phase, args.batch, setup["customers"], variant)
        return json.dumps({"items": rows}).encode()

    def post(data: bytes) -> dict[str, Any]:
        resp = client.post("/api/transactions/bulk", data=data, content_type="application/json")
        if resp.status_code != 200:
            raise SystemExit(f"bulk call failed: {resp.status_code} {resp.content[:300]!r}")
        return json.loads(resp.content)

    print(f"database: {connection.vendor}; {args.customers} customers; {args.batch} items per call")
    for start in range(0, args.preload, 10_000):
        n = min(10_000, args.preload - start)
        rows = make_rows(run_id, f"preload{start}", n, setup["customers"])
        post(json.dumps({"items": rows}).encode())
    if args.preload:
        print(f"preloaded {args.preload} rows through the same endpoint (not timed)")
    print(
        "note: DATA_UPLOAD_MAX_MEMORY_SIZE raised in this process only "
        "(the served app keeps Django's 2.5 MB)"
    )
    post(json.dumps({"items": make_rows(run_id, "warmup", 50, setup["customers"])}).encode())

    # 1. timers around the service's steps and every SQL statement
    def timed_call(phase: str) -> dict[str, Any]:
        timers = Timers()
        sql: dict[str, list[float]] = defaultdict(list)

        def sql_timer(execute: Any, sql_text: str, params: Any, many: bool, context: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return execute(sql_text, params, many, context)
            finally:
                verb = sql_text.lstrip().split(None, 1)[0].upper()
                sql[verb].append(time.perf_counter() - t0)

        data = body(phase)
        t_json = time.perf_counter()
        json.loads(data)
        t_json = time.perf_counter() - t_json
        with ExitStack() as stack:
            for name in (
                "transactions_upsert",
                "transaction_parse",
                "_resolve_customers",
                "_store",
                "sites_ensure",
                "_existing",
                "customers_refresh_lifetime_value",
            ):
                stack.enter_context(patched(svc, name, timers.wrap(name, getattr(svc, name))))
            # the API module imported the service function under its own name
            stack.enter_context(patched(api_module, "transactions_upsert", svc.transactions_upsert))
            for method in ("bulk_create", "bulk_update"):
                stack.enter_context(
                    patched(QuerySet, method, timers.by_model(method, getattr(QuerySet, method)))
                )
            stack.enter_context(connection.execute_wrapper(sql_timer))
            c0, t0 = time.process_time(), time.perf_counter()
            result = post(data)
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {
            "total": total,
            "cpu": cpu,
            "json": t_json,
            "timers": timers,
            "sql": sql,
            "result": result,
        }

    calls = [timed_call(f"timed{i}") for i in range(args.repeat)]
    best = min(calls, key=lambda c: c["total"])
    total, timers, sql, result = best["total"], best["timers"], best["sql"], best["result"]
    print(
        f"\n1. one call, {args.batch} new rows, fastest of {args.repeat}: {total * 1000:,.0f} ms "
        f"= {args.batch / total:,.0f} rows/s in-process; "
        f"this process's CPU {best['cpu'] * 1000:,.0f} ms ({outcome(result)}); all calls: "
        + ", ".join(f"{c['total'] * 1000:,.0f} ms" for c in calls)
    )
    t_json = best["json"]
    upsert = timers.total["transactions_upsert"]
    steps = [
        (
            "request handling outside the service (JSON, ninja schema, middleware, response)",
            total - upsert,
        ),
        ("  of which json.loads of the body alone", t_json),
        ("transactions_upsert (the service)", upsert),
        ("  transaction_parse, all items", timers.total["transaction_parse"]),
        ("  _resolve_customers", timers.total["_resolve_customers"]),
        ("  _store (one transaction)", timers.total["_store"]),
        ("    sites_ensure", timers.total["sites_ensure"]),
        ("    _existing (look-up of external ids)", timers.total["_existing"]),
        ("    Transaction bulk_create", timers.total["bulk_create Transaction"]),
        ("    Transaction bulk_update", timers.total["bulk_update Transaction"]),
        ("    customers_refresh_lifetime_value", timers.total["customers_refresh_lifetime_value"]),
        ("      of which Customer bulk_update", timers.total["bulk_update Customer"]),
    ]
    rest = timers.total["_store"] - sum(
        timers.total[k]
        for k in (
            "sites_ensure",
            "_existing",
            "bulk_create Transaction",
            "bulk_update Transaction",
            "customers_refresh_lifetime_value",
        )
    )
    steps.append(("    rest of _store (building and comparing model objects)", rest))
    for label, seconds in steps:
        print(f"   {label:<82} {seconds * 1000:9,.0f} ms {seconds / total:6.1%}")
    db_total = sum(sum(v) for v in sql.values())
    print(
        f"   SQL: {sum(len(v) for v in sql.values())} statements, "
        f"{db_total * 1000:,.0f} ms waiting on the database ({db_total / total:.1%}): "
        + ", ".join(f"{k} {len(v)}x {sum(v) * 1000:,.0f} ms" for k, v in sorted(sql.items()))
    )

    # 2. cProfile of another call
    data = body("timed0", variant=1) if args.resend else body("profiled")
    what = "re-send of those rows, ~half changed" if args.resend else f"{args.batch} new rows"
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    result = post(data)
    prof.disable()
    total = time.perf_counter() - t0
    print(
        f"\n2. cProfile of one call, {what}: {total * 1000:,.0f} ms under the profiler "
        f"({outcome(result)})"
    )
    for key, label in (("tottime", "own time"), ("cumulative", "cumulative time")):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key)
        stats.print_stats(args.top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\n   top {args.top} by {label}:")
        print(text[start:].rstrip())


if __name__ == "__main__":
    main()
