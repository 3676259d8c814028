"""The staff inbox and case search at 100,000 cases: before and after, in one run.

A quick probe for issue 14/20's inbox goals, beside the full lists harness:
it seeds cases, customers and timers straight through bounceback.bulk (the
product's set-based writer, a minute rather than an hour), fills each case's
next due time with the product's own `cases_next_due_refresh`, and times the
inbox selector (`cases.inbox.cases_inbox_page`) in every view, a deep page,
filters and the search, against the inbox as it was before (a timer subquery
per open case, COUNT(*) and OFFSET) and the API's old OR cursor.

    python bench/inbox_probe.py [--cases 100000] [--sqlite-only | --postgres-only]

Figures are selector times in-process (no HTTP), p50/p99 over --reps calls,
with the queries each call made. Results: bench/results/inbox_probe-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = os.environ.get("INBOX_PROBE_PG_DB", "bb_inbox_probe")


def seed(n_cases: int) -> dict[str, Any]:
    """Cases in mixed states, 80% open, over 20,000 customers, 40 staff in 4 teams, 5 sites."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from bounceback.accounts.models import Team, User
    from bounceback.bulk import allocate_ids, bulk_insert
    from bounceback.cases.bulk import cases_next_due_refresh
    from bounceback.cases.models import Case
    from bounceback.customers.models import Customer
    from bounceback.sites.models import Site
    from bounceback.timers.models import Timer

    rng = random.Random(14)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
        users = [
            User.objects.create(username=f"agent{i}", team=teams[i % 4], role="agent")
            for i in range(40)
        ]
        sites = [Site.objects.create(name=f"Site {i}", code=f"site{i}") for i in range(5)]
        n_customers = 20_000
        cust_ids = allocate_ids(Customer, n_customers)
        bulk_insert(
            Customer,
            varying={"id": cust_ids, "name": [f"Customer {i}" for i in range(n_customers)]},
            now=now,
        )
        case_ids = allocate_ids(Case, n_cases)
        statuses = ["new", "apologised", "fixing", "waiting", "closed"]
        words = [
            "car",
            "late",
            "broken",
            "cold",
            "rude",
            "refund",
            "noisy",
            "dirty",
            "missing",
            "wrong",
            "delayed",
        ]
        status = [rng.choices(statuses, weights=[30, 25, 15, 10, 20])[0] for _ in case_ids]
        bulk_insert(
            Case,
            varying={
                "id": case_ids,
                "reference": [f"BB-{pk:05d}" for pk in case_ids],
                # One customer holds hundreds of cases, as the harness asks.
                "customer_id": [
                    cust_ids[0] if i % 300 == 0 else rng.choice(cust_ids) for i in range(n_cases)
                ],
                "summary": [
                    " ".join(rng.sample(words, 3)) + f" at table {i % 97}" for i in range(n_cases)
                ],
                "status": status,
                "assignee_id": [
                    None if rng.random() < 0.2 else rng.choice(users).pk for _ in case_ids
                ],
                "team_id": [rng.choice(teams).pk for _ in case_ids],
                "site_id": [rng.choice(sites).pk for _ in case_ids],
                "breach_count": [1 if rng.random() < 0.1 else 0 for _ in case_ids],
                "created_at": [
                    now - timedelta(minutes=rng.randrange(0, 200_000)) for _ in case_ids
                ],
                "closed_at": [now if s == "closed" else None for s in status],
            },
            constant={"channel": "email", "severity": "normal"},
            now=now,
        )
        timed = [
            pk for pk, s in zip(case_ids, status, strict=True) if s not in {"closed", "waiting"}
        ]
        bulk_insert(
            Timer,
            varying={
                "id": allocate_ids(Timer, len(timed)),
                "subject_id": timed,
                "due_at": [now + timedelta(minutes=rng.randrange(-600, 3000)) for _ in timed],
            },
            constant={
                "subject_type": "case",
                "kind": "fix",
                "state": "running",
                "target_seconds": 1200,
                "started_at": now,
                "escalation_level": 0,
                "fire_attempts": 0,
            },
            now=now,
        )
        t1 = time.perf_counter()
        for start in range(0, len(timed), 20_000):
            cases_next_due_refresh(timed[start : start + 20_000], None)
        refresh_s = time.perf_counter() - t1
    from django.db import connection

    with connection.cursor() as cursor:
        # As autovacuum leaves a live database: statistics, and on PostgreSQL the
        # visibility map that lets counts read the indexes alone.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "cases": n_cases,
        "open": sum(1 for s in status if s != "closed"),
        "seed_s": round(time.perf_counter() - t0, 1),
        "next_due_refresh_s": round(refresh_s, 2),
        "user": users[0].pk,
        "site": "site1",
    }


def old_inbox(user: Any, scope: str, page: int) -> int:
    """The inbox as main had it: a timer subquery per open case, COUNT(*), OFFSET, counts."""
    from django.core.paginator import Paginator
    from django.db.models import Count, F, OuterRef, Q, Subquery

    from bounceback.cases.models import Case
    from bounceback.timers.models import Timer

    rows = Case.objects.exclude(status="closed").select_related(
        "customer", "assignee", "team", "site"
    )
    if scope == "mine":
        rows = rows.filter(assignee=user)
    elif scope == "team":
        rows = rows.filter(Q(assignee=user) | Q(team_id=user.team_id))
    next_due = (
        Timer.objects.filter(
            subject_type="case",
            subject_id=OuterRef("pk"),
            met_at__isnull=True,
            state__in=["running", "breached"],
        )
        .order_by("due_at")
        .values("due_at")[:1]
    )
    rows = rows.annotate(next_due=Subquery(next_due)).order_by(
        F("next_due").asc(nulls_last=True), "-created_at", "-id"
    )
    shown = Paginator(rows, 50).get_page(page)
    got = len(list(shown.object_list))
    mine = Q(assignee=user)
    Case.objects.exclude(status="closed").aggregate(
        mine=Count("pk", filter=mine),
        team=Count("pk", filter=mine | Q(team_id=user.team_id)),
        all=Count("pk"),
    )
    return got


def old_api_cursor(value: Any, pk: int) -> int:
    """The API's cursor as it was: (created_at, id) compared with OR."""
    from django.db.models import Q

    from bounceback.cases.models import Case

    rows = (
        Case.objects.order_by("-created_at", "-pk")
        .filter(Q(created_at__lt=value) | Q(created_at=value, pk__lt=pk))
        .select_related("customer")
    )
    return len(list(rows[:51]))


def timed(fn: Any, reps: int) -> dict[str, Any]:
    import harness
    from django.db import connection, reset_queries

    fn()  # warm
    lat = []
    queries = 0
    with harness.Phase("selector") as phase:
        for _ in range(reps):
            reset_queries()
            t = time.perf_counter()
            fn()
            lat.append((time.perf_counter() - t) * 1000)
            queries = len(connection.queries)
    lat.sort()
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    return {
        "p50_ms": round(statistics.median(lat), 2),
        "p99_ms": round(p99, 2),
        "queries": queries,
        "other_cores": phase.cpu.get("other_cores"),
    }


def measure(info: dict[str, Any], reps: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from bounceback.accounts.models import User
    from bounceback.cases.inbox import InboxQuery, cases_inbox_page
    from bounceback.cases.models import Case
    from bounceback.keyset import Order, keyset_page

    settings.DEBUG = True  # so connection.queries counts
    user = User.objects.get(pk=info["user"])
    out: dict[str, Any] = {}

    def new(view: str, **kw: Any) -> Any:
        return lambda: cases_inbox_page(user=user, query=InboxQuery(view=view, **kw))

    for view in ("mine", "team", "unassigned", "breached", "due_soon", "waiting", "all"):
        out[f"inbox {view}"] = timed(new(view), reps)
    out["inbox all, site filter"] = timed(new("all", site=info["site"]), reps)
    out["inbox all, newest first"] = timed(new("all", sort="newest"), reps)
    # A deep page: the cursor of the 200th page (10,000 cases in).
    after = None
    for _ in range(200):
        after = cases_inbox_page(
            user=user, query=InboxQuery(view="all"), after=after, counts=False
        ).next_after
    out["inbox all, page 201"] = timed(
        lambda: cases_inbox_page(user=user, query=InboxQuery(view="all"), after=after), reps
    )
    for scope in ("mine", "team", "all"):
        out[f"BEFORE inbox {scope}"] = timed(
            lambda s=scope: old_inbox(user, s, 1), max(3, reps // 4)
        )
    out["BEFORE inbox all, page 201"] = timed(
        lambda: old_inbox(user, "all", 201), max(3, reps // 4)
    )
    deep = Case.objects.order_by("-created_at", "-pk")[int(info["cases"] * 0.6)]
    out["API cursor 60% deep (row value)"] = timed(
        lambda: keyset_page(
            Case.objects.select_related("customer"),
            order=Order("created_at", descending=True),
            after=__import__("bounceback.keyset", fromlist=["x"]).cursor_encode(
                deep.created_at, deep.pk
            ),
            limit=50,
        ),
        reps,
    )
    out["BEFORE API cursor 60% deep (OR)"] = timed(
        lambda: old_api_cursor(deep.created_at, deep.pk), reps
    )
    try:
        from bounceback.search.selectors import case_search

        for q in ("BB-00081", "refund", "broken cold", "Customer 1234", "zzzznothing"):
            out[f"search {q!r}"] = timed(lambda q=q: case_search(query=q), reps)
    except ImportError:
        pass
    out["_vendor"] = connection.vendor
    return out


def child(kind: str, n: int, reps: int) -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceback.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    info = seed(n)
    result = {"seed": info, "figures": measure(info, reps)}
    print(json.dumps(result))


def run(kind: str, n: int, reps: int) -> dict[str, Any]:
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="inbox-probe-")
    env["BOUNCEBACK_DATA_DIR"] = tmp
    env["PYTHONPATH"] = str(REPO)
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--cases", str(n), "--reps", str(reps)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if not os.environ.get("BENCH_KEEP"):
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--postgres-only", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.cases, args.reps)
        return 0
    kinds = ["sqlite", "postgresql"]
    if args.sqlite_only:
        kinds = ["sqlite"]
    if args.postgres_only:
        kinds = ["postgresql"]
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    for kind in kinds:
        result = run(kind, args.cases, args.reps)
        (results_dir / f"inbox_probe-{kind}.json").write_text(json.dumps(result, indent=2))
        print(f"== {kind}: {result['seed']}")
        for name, fig in result["figures"].items():
            if name.startswith("_"):
                continue
            goal = "" if name.startswith("BEFORE") else ("  (goal < 100 ms)")
            print(
                f"  {name:42s} p50 {fig['p50_ms']:8.2f} ms  p99 {fig['p99_ms']:8.2f} ms"
                f"  {fig['queries']} queries{goal}"
                + (
                    f"  [WARNING: other processes used {fig['other_cores']:.2f} cores]"
                    if (fig.get("other_cores") or 0) >= 0.25
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
