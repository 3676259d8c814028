"""Each role's dashboard at 100,000 cases: server time against the 150 ms goal (issue 17).

Seeds a year of recovery history straight through bounceback.bulk (the
product's set-based writer, as bench/inbox_probe.py does): cases in every
state over 20,000 customers, 40 staff in 4 teams and 5 sites, 30 failure modes
(a few with playbooks), the cases' timers (met or missed), gestures granted,
purchases before and after, and a conversation of two messages for half the
cases. Then it takes the interactions into the first-response roll-up the way
the clock does (`conversations_refresh`, timed), and times each role's home
page through Django's test client in-process: the view, every query and the
template, with no network; p50 and p99 over --reps requests, beside the goal.

The money tile's revenue kept comes from the loyalty report, which the clock
works out in the background (`loyalty_figures_refresh`, one slice a minute):
no page waits for it. Its time is printed on its own line.

    python bench/dashboards.py [--cases 100000] [--reps 30] [--sqlite-only | --postgres-only]

Results: bench/results/dashboards-<db>.json.
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
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = os.environ.get("DASHBOARDS_BENCH_PG_DB", "bb_dashboards_bench")
GOAL_MS = 150.0


# Long on purpose: one set-based seed per table, in dependency order, sharing the draws.
def seed(n_cases: int) -> dict[str, Any]:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from bounceback.accounts.models import Team, User
    from bounceback.bulk import allocate_ids, bulk_insert
    from bounceback.cases.models import Case
    from bounceback.customers.models import Customer
    from bounceback.funds.models import Grant
    from bounceback.interactions.models import Interaction
    from bounceback.segments.models import Segment, SegmentMembership
    from bounceback.sites.models import Site
    from bounceback.testing.failuremodes_factories import FailureModeFactory
    from bounceback.testing.playbooks_factories import make_playbook
    from bounceback.timers.models import Timer
    from bounceback.transactions.models import Transaction

    rng = random.Random(17)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
        agents = [
            User.objects.create(username=f"agent{i}", team=teams[i % 4], role="agent")
            for i in range(40)
        ]
        lead = User.objects.create(username="lead", team=teams[0], role="lead")
        manager = User.objects.create(username="manager", role="manager")
        executive = User.objects.create(username="executive", role="executive")
        from django.contrib.auth.models import Group

        for user in [*agents, lead, manager, executive]:
            user.groups.set([Group.objects.get(name=user.role)])
        sites = [Site.objects.create(name=f"Site {i}", code=f"site{i}") for i in range(5)]
        modes = [FailureModeFactory(title=f"Failure {i}") for i in range(30)]
        for mode in modes[:8]:
            make_playbook(failure_mode=mode)
        n_customers = 20_000
        cust_ids = allocate_ids(Customer, n_customers)
        bulk_insert(
            Customer,
            varying={"id": cust_ids, "name": [f"Customer {i}" for i in range(n_customers)]},
            now=now,
        )
        segment = Segment.objects.create(name="Regulars", slug="regulars")
        bulk_insert(
            SegmentMembership,
            varying={"customer_id": cust_ids[::10]},
            constant={"segment_id": segment.pk, "since": now},
            now=now,
        )
        mode_weights = [1 / (i + 1) for i in range(len(modes))]
        ids = allocate_ids(Case, n_cases)
        created, status, fixed, answered, satisfied, back, due, breach = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for _ in ids:
            opened = now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            age = now - opened
            closed = age > timedelta(days=14) and rng.random() < 0.95
            fix_at = (
                opened + timedelta(minutes=rng.lognormvariate(3.5, 1.2))
                if closed or rng.random() < 0.5
                else None
            )
            if fix_at is not None and fix_at > now:
                fix_at = None
            ask = (
                fix_at + timedelta(days=rng.uniform(1, 3))
                if fix_at and rng.random() < 0.6
                else None
            )
            if ask is not None and ask > now:
                ask = None
            created.append(opened)
            status.append("closed" if closed else rng.choice(["new", "apologised", "fixing"]))
            fixed.append(fix_at)
            answered.append(ask)
            satisfied.append((rng.random() < 0.75) if ask else None)
            back.append((rng.random() < 0.65) if ask else None)
            due.append(None if closed else now + timedelta(minutes=rng.randrange(-600, 3000)))
            breach.append(1 if rng.random() < 0.1 else 0)
        bulk_insert(
            Case,
            varying={
                "id": ids,
                "reference": [f"BB-{pk:06d}" for pk in ids],
                "customer_id": [rng.choice(cust_ids) for _ in ids],
                "summary": [f"Case {pk}" for pk in ids],
                "status": status,
                "assignee_id": [
                    None if rng.random() < 0.15 else rng.choice(agents).pk for _ in ids
                ],
                "team_id": [rng.choice(teams).pk for _ in ids],
                "site_id": [rng.choice(sites).pk for _ in ids],
                "failure_mode_id": [
                    None if rng.random() < 0.1 else rng.choices(modes, mode_weights)[0].pk
                    for _ in ids
                ],
                "breach_count": breach,
                "created_at": created,
                "apologised_at": [c + timedelta(minutes=5) for c in created],
                "fixed_at": fixed,
                "follow_up_recorded_at": answered,
                "satisfied": satisfied,
                "will_return": back,
                "next_due_at": due,
                "closed_at": [
                    a or f or c for a, f, c in zip(answered, fixed, created, strict=True)
                ],
            },
            constant={"channel": "email", "severity": "normal"},
            now=now,
        )
        # Timers: apologise and fix for every case, follow-up and document for the closed.
        t_subject, t_kind, t_state, t_start, t_due, t_met, t_breached = [], [], [], [], [], [], []
        for pk, opened, st, b in zip(ids, created, status, breach, strict=True):
            kinds = ["apologise", "fix"] + (["follow_up", "document"] if st == "closed" else [])
            for k in kinds:
                late = (b and k == "fix") or rng.random() < 0.05
                t_subject.append(pk)
                t_kind.append(k)
                t_state.append("breached" if late else "met")
                t_start.append(opened)
                t_due.append(opened + timedelta(minutes=20))
                t_met.append(None if late else opened + timedelta(minutes=10))
                t_breached.append(opened + timedelta(minutes=20) if late else None)
        bulk_insert(
            Timer,
            varying={
                "subject_id": t_subject,
                "kind": t_kind,
                "state": t_state,
                "started_at": t_start,
                "due_at": t_due,
                "met_at": t_met,
                "breached_at": t_breached,
            },
            constant={
                "subject_type": "case",
                "target_seconds": 1200,
                "escalation_level": 0,
                "fire_attempts": 0,
            },
            now=now,
        )
        granted = [i for i in range(n_cases) if rng.random() < 0.2]
        bulk_insert(
            Grant,
            varying={
                "case_id": [ids[i] for i in granted],
                "customer_id": [rng.choice(cust_ids) for _ in granted],
                "value": [Decimal(rng.randrange(10, 60)) for _ in granted],
                "created_at": [created[i] + timedelta(hours=1) for i in granted],
            },
            constant={
                "kind": "voucher",
                "reason": "bench",
                "state": "granted",
                "currency": "USD",
                "granted_by_id": manager.pk,
            },
            now=now,
        )
        # Purchases: a few per customer over the year, for the loyalty figures.
        n_tx = n_customers * 3
        bulk_insert(
            Transaction,
            varying={
                "customer_id": [rng.choice(cust_ids) for _ in range(n_tx)],
                "external_id": [f"tx-{i}" for i in range(n_tx)],
                "amount": [Decimal(rng.randrange(20, 200)) for _ in range(n_tx)],
                "occurred_at": [
                    now - timedelta(minutes=rng.randrange(0, 500 * 24 * 60)) for _ in range(n_tx)
                ],
            },
            constant={"kind": "order", "currency": "USD", "source": "bench"},
            now=now,
        )
        talked = [i for i in range(n_cases) if i % 2 == 0]
        i_case, i_cust, i_dir, i_author, i_at, i_thread = [], [], [], [], [], []
        customer_of = dict(Case.objects.filter(pk__in=ids).values_list("pk", "customer_id"))
        for i in talked:
            pk = ids[i]
            reply = created[i] + timedelta(minutes=rng.lognormvariate(3.0, 1.3))
            for direction, at, author in (
                ("inbound", created[i], None),
                ("outbound", reply, rng.choice(agents).pk),
            ):
                if at > now:
                    continue
                i_case.append(pk)
                i_cust.append(customer_of[pk])
                i_dir.append(direction)
                i_author.append(author)
                i_at.append(at)
                i_thread.append(f"case-{pk}")
        bulk_insert(
            Interaction,
            varying={
                "case_id": i_case,
                "customer_id": i_cust,
                "direction": i_dir,
                "author_id": i_author,
                "occurred_at": i_at,
                "thread_ref": i_thread,
            },
            constant={"channel": "email", "body": "message", "source": "bench"},
            now=now,
        )
    seed_s = time.perf_counter() - t0
    from bounceback.dashboards.services import conversations_refresh

    t1 = time.perf_counter()
    conversations = conversations_refresh(most=10**9)
    rollup_s = time.perf_counter() - t1
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    busiest = (
        Case.objects.open()
        .values("assignee_id")
        .exclude(assignee_id=None)
        .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
        .order_by("-n")
        .first()
    )
    return {
        "cases": n_cases,
        "timers": len(t_subject),
        "interactions": len(i_case),
        "conversations": conversations,
        "seed_s": round(seed_s, 1),
        "rollup_s": round(rollup_s, 1),
        "agent": busiest["assignee_id"] if busiest else agents[0].pk,
        "lead": lead.pk,
        "manager": manager.pk,
        "executive": executive.pk,
    }


def timed(fn: Any, reps: int) -> dict[str, Any]:
    from django.db import connection, reset_queries

    lat = []
    queries = 0
    for _ in range(reps):
        reset_queries()
        t = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t) * 1000)
        queries = len(connection.queries)
    lat.sort()
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    return {"p50_ms": round(statistics.median(lat), 1), "p99_ms": round(p99, 1), "queries": queries}


def measure(info: dict[str, Any], reps: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client

    from bounceback.accounts.models import User

    settings.DEBUG = True  # so connection.queries counts
    out: dict[str, Any] = {}
    for role in ("agent", "lead", "manager", "executive"):
        client = Client(HTTP_HOST="localhost")
        client.force_login(User.objects.get(pk=info[role]))

        def get(path: str, client: Client = client) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        if role == "manager":
            from bounceback.dashboards.services import loyalty_figures_refresh

            t = time.perf_counter()
            loyalty_figures_refresh()
            out["revenue kept, worked out by the clock"] = {
                "p50_ms": round((time.perf_counter() - t) * 1000, 1),
                "p99_ms": None,
                "queries": None,
            }
        get("/")  # warm: templates compiled
        out[f"{role} home"] = timed(lambda get=get: get("/"), reps)
        if role == "manager":
            get("/?site=site1")
            out["manager home, one site"] = timed(lambda get=get: get("/?site=site1"), reps)
            get("/?segment=regulars")
            out["manager home, one segment"] = timed(
                lambda get=get: get("/?segment=regulars"), reps
            )
            year = (
                "/?since="
                + (
                    __import__("datetime").date.today() - __import__("datetime").timedelta(days=364)
                ).isoformat()
            )
            get(year)
            out["manager home, a whole year"] = timed(lambda get=get, y=year: get(y), reps)
            out["manager dashboard alone (/dashboards/manager/)"] = timed(
                lambda get=get: get("/dashboards/manager/"), reps
            )
            out["drill-down page (a Pareto bar)"] = timed(
                lambda get=get: get("/dashboards/cases/?tile=failure_modes&key=none"), reps
            )
    from django.db import connection

    out["_vendor"] = connection.vendor
    out["_load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return out


def child(kind: str, n: int, reps: int) -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceback.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bounceback.accounts.services import roles_sync

    roles_sync()
    info = seed(n)
    print(json.dumps({"seed": info, "figures": measure(info, reps)}))


def run(kind: str, n: int, reps: int) -> dict[str, Any]:
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="dashboards-bench-")
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
    if os.environ.get("BENCH_KEEP"):
        print(f"data kept in {tmp}", file=sys.stderr)
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(kind: str, result: dict[str, Any]) -> bool:
    seed_info, figures = result["seed"], result["figures"]
    print(
        f"\nload average while measuring: {figures.get('_load', '?')} (this machine has "
        f"{os.cpu_count()} cores)"
    )
    print(
        f"\n{kind}: {seed_info['cases']:,} cases, {seed_info['timers']:,} timers, "
        f"{seed_info['interactions']:,} interactions (seeded in {seed_info['seed_s']} s; "
        f"first-response roll-up of {seed_info['conversations']:,} conversations took "
        f"{seed_info['rollup_s']} s)"
    )
    print(f"{'dashboard':<44}{'p50 ms':>9}{'p99 ms':>9}{'queries':>9}  goal {GOAL_MS:.0f} ms")
    ok = True
    for name, fig in figures.items():
        if name.startswith("_"):
            continue
        p50, p99 = fig["p50_ms"], fig["p99_ms"]
        if p99 is None:
            print(f"{name:<44}{p50:>9}{'':>9}{'':>9}  (background, every 15 minutes)")
            continue
        verdict = "PASS" if p99 <= GOAL_MS else "FAIL"
        ok = ok and (verdict == "PASS" or "drill" in name)
        print(f"{name:<44}{p50:>9}{p99:>9}{fig['queries']:>9}  {verdict}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--postgres-only", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.cases, args.reps)
        return 0
    kinds = ["sqlite"] if args.sqlite_only else ["postgresql"] if args.postgres_only else []
    if not kinds:
        kinds = ["sqlite"]
        if os.environ.get("DATABASE_URL") or _postgres_up():
            kinds.append("postgresql")
    ok = True
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    for kind in kinds:
        result = run(kind, args.cases, args.reps)
        (results / f"dashboards-{kind}.json").write_text(json.dumps(result, indent=2))
        ok = report(kind, result) and ok
    return 0 if ok else 1


def _postgres_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
