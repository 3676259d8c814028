"""The lists harness of issue 20: every page staff open all day, at 100,000 cases.

For each database (SQLite in a temporary data directory, PostgreSQL in a
database `bounceback_bench_lists` that the run drops, creates and drops), in
a child process that loads Django against it (not timed, but reported):

  1. build   100,000 cases (--cases) in mixed states through the product's own
             code: a breakdown at one site with 30% of the cases' customers
             affected goes through breakdown_declare, breakdown_confirm_outreach
             and its outreach job (every case opened, apologised, its events,
             messages, outbox rows and timers written as production writes
             them); the other cases, spread over several sites, teams and
             people (new, apologised, fixing, waiting, closed, some breached),
             through bounceback.bulk with a running timer and an "opened" event
             each, and their next-due time from cases_next_due_refresh; one
             customer holds hundreds of cases; a few cases are opened through
             case_open and given a gesture through grant_create (the funds
             page), and failure modes are linked (the catalog).
  2. count   each page once through Django's test client, the queries it made
             counted (CaptureQueriesContext), on the same database.
  3. serve   gunicorn gthread on a free 127.0.0.1 port, DEBUG off, as
             production runs it (bench/harness.py's Server), a staff session.
  4. time    each page --reps times in a row over one keep-alive connection
             after two unmeasured calls: p50 and p99, printed beside its goal
             (inbox views 100 ms, the other pages 50 ms, issue 20), with the
             CPU other processes used meanwhile: a figure they contaminated
             gets a WARNING beside it.

`--with-peer` runs the peer's harness (../shared/bench/peer-helpdesk/run.sh,
django-helpdesk from PyPI, about 15 minutes) in the same run, with as many
tickets as we have cases, and prints the ratio of its staff list to our inbox.

usage: .venv/bin/python bench/lists.py [--cases N] [--reps N] [--quick]
                                       [--sqlite-only | --postgres-only]
                                       [--with-peer] [--strict] [--results-dir DIR]
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness import PY, Config, fmt, log

HERE = Path(__file__).resolve().parent
GOAL_INBOX_MS = 100.0
GOAL_PAGE_MS = 50.0
# A search for a whole reference answers with a redirect to that case.
OK = {200, 302}

CONFIG: harness.ConfigTable = {
    "BENCH_LISTS_CASES": ("100000", "3000", "cases built (--cases wins)"),
    "BENCH_LISTS_REPS": ("40", "5", "timed calls per page (--reps wins)"),
    **harness.database_settings("BENCH_LISTS_PG_DB", "bounceback_bench_lists"),
    **harness.server_settings(time_cap=("60", "20"), quiet_wait=("120", "0")),
}


# ---------------------------------------------------------------- the child: Django in-process


def _build(n_cases: int) -> dict[str, Any]:
    """The data set (see the module's docstring); what the pages need to be addressed."""
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from bounceback.accounts.models import Team
    from bounceback.accounts.roles import Role
    from bounceback.apitokens.services import token_create
    from bounceback.background.models import Job
    from bounceback.background.services import job_run
    from bounceback.breakdowns.services import (
        breakdown_confirm_outreach,
        breakdown_declare,
        outreach_job_key,
    )
    from bounceback.bulk import allocate_ids, bulk_insert
    from bounceback.cases.bulk import cases_next_due_refresh
    from bounceback.cases.models import Case, CaseEvent
    from bounceback.cases.services import case_open
    from bounceback.cases.timeline import NewCaseEvent, case_events_record_many
    from bounceback.customers.models import Customer
    from bounceback.funds.services import grant_create
    from bounceback.sites.services import site_create
    from bounceback.testing.breakdowns_factories import make_booked_customers_in_bulk
    from bounceback.testing.factories import UserFactory
    from bounceback.testing.failuremodes_factories import FailureModeFactory
    from bounceback.testing.funds_factories import set_policy
    from bounceback.testing.playbooks_factories import make_playbook
    from bounceback.timers.models import Timer
    from bounceback.webhooks.events import case_payload_of

    # Nobody logs in with these passwords: a cheap hasher keeps 40 users from taking minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rng = random.Random(20)
    now = timezone.now()
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
    staff = [
        UserFactory(
            username=f"agent{i}", team=teams[i % 4], role=Role.LEAD if i < 4 else Role.AGENT
        )
        for i in range(40)
    ]
    viewer = staff[0]
    set_policy(Role.LEAD, per_case="500", budget="1000000")
    set_policy(Role.AGENT, per_case="100", budget="100000")
    sites = [site_create(code=f"site-{i}", name=f"Site {i}") for i in range(6)]
    modes = [FailureModeFactory() for _ in range(30)]

    # 1. The breakdown: its customers booked at site 0, found and contacted by the product.
    affected_n = max(10, int(n_cases * 0.3))
    make_booked_customers_in_bulk(affected_n, site=sites[0])
    playbook = make_playbook(name="Power cut at an event")
    breakdown = breakdown_declare(
        actor=viewer,
        playbook=playbook,
        title="Power cut at Site 0",
        window_start=now,
        window_end=now + timedelta(hours=4),
        site=sites[0],
    )
    took["declare_s"] = time.perf_counter() - t0
    log(f"breakdown declared: {breakdown.affected_count} affected")
    t1 = time.perf_counter()
    breakdown_confirm_outreach(breakdown=breakdown, actor=viewer)
    key = outreach_job_key(breakdown.pk)
    while job_run(key=key):
        job = Job.objects.get(key=key)
        if job.last_error:
            raise SystemExit(f"outreach failed: {job.last_error}")
        if job.state == Job.State.DONE:
            break
    took["outreach_s"] = time.perf_counter() - t1
    log(f"outreach done in {took['outreach_s']:.1f} s")
    breakdown_cases = Case.objects.filter(breakdown=breakdown).count()

    # 2. The rest of the cases, set-based, over the booked customers and 20,000 more.
    t2 = time.perf_counter()
    extra_customers = max(100, min(20_000, n_cases // 5))
    with transaction.atomic():
        new_ids = allocate_ids(Customer, extra_customers)
        bulk_insert(
            Customer,
            varying={"id": new_ids, "name": [f"Regular {i}" for i in range(extra_customers)]},
            now=now,
        )
    customer_ids = list(Customer.objects.values_list("pk", flat=True))
    whale = new_ids[0]  # the customer with hundreds of cases
    rest = n_cases - breakdown_cases - 20
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
    for first in range(0, rest, 20_000):
        size = min(20_000, rest - first)
        with transaction.atomic():
            ids = allocate_ids(Case, size)
            status = [rng.choices(statuses, weights=[20, 25, 15, 10, 30])[0] for _ in ids]
            created = [now - timedelta(minutes=rng.randrange(0, 200_000)) for _ in ids]
            owner = [
                whale if (first + i) % 250 == 0 else rng.choice(customer_ids) for i in range(size)
            ]
            summary = [" ".join(rng.sample(words, 3)) + f" at table {i % 97}" for i in range(size)]
            severity = [
                rng.choices(["low", "normal", "high", "critical"], [2, 6, 2, 1])[0] for _ in ids
            ]
            bulk_insert(
                Case,
                varying={
                    "id": ids,
                    "reference": [f"BB-{pk:05d}" for pk in ids],
                    "customer_id": owner,
                    "summary": summary,
                    "status": status,
                    "assignee_id": [
                        None if rng.random() < 0.2 else rng.choice(staff).pk for _ in ids
                    ],
                    "team_id": [rng.choice(teams).pk for _ in ids],
                    "site_id": [rng.choice(sites[1:]).pk for _ in ids],
                    "failure_mode_id": [
                        rng.choice(modes).pk if rng.random() < 0.3 else None for _ in ids
                    ],
                    "severity": severity,
                    "breach_count": [1 if rng.random() < 0.1 else 0 for _ in ids],
                    "created_at": created,
                    "closed_at": [now if s == "closed" else None for s in status],
                },
                constant={"channel": "email"},
                now=now,
            )
            case_events_record_many(
                [NewCaseEvent(pk, CaseEvent.Kind.OPENED, "Case opened") for pk in ids],
                actor=None,
                at=now,
                data={},
                payloads={
                    pk: case_payload_of(
                        case_id=pk,
                        reference=f"BB-{pk:05d}",
                        status=status[i],
                        severity=severity[i],
                        channel="email",
                        summary=summary[i],
                        customer_id=owner[i],
                        customer_name="",
                    )
                    for i, pk in enumerate(ids)
                },
            )
            timed = [
                pk for pk, s in zip(ids, status, strict=True) if s not in {"closed", "waiting"}
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
            cases_next_due_refresh(timed, None)
    took["bulk_cases_s"] = time.perf_counter() - t2

    # 3. A few cases the way a person opens them, with a gesture each (the funds page).
    t3 = time.perf_counter()
    whale_customer = Customer.objects.get(pk=whale)
    opened = []
    for i in range(20):
        case = case_open(
            customer=whale_customer,
            summary=f"Order {i} arrived damaged",
            actor=staff[i % 4],
            site=sites[1 + i % 5],
            assignee=staff[i % 4],
        )
        opened.append(case.pk)
        grant_create(
            case=case,
            actor=staff[i % 4],
            kind="refund",
            value=Decimal("25.00"),
            reason="Damaged on arrival",
        )
    took["services_s"] = time.perf_counter() - t3
    _, token = token_create(
        name="bench lists", scopes=["transactions:read", "cases:read"], actor=None
    )
    with connection.cursor() as cursor:
        # As autovacuum leaves a live database: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    sample = list(
        Case.objects.exclude(customer_id=whale)
        .filter(breakdown__isnull=True)
        .values_list("pk", flat=True)[1000:1003]
    )
    breakdown_case = Case.objects.filter(breakdown=breakdown).values_list("pk", flat=True).first()
    some_customer = Case.objects.get(pk=sample[0]).customer_id
    return {
        "cases": Case.objects.count(),
        "open": Case.objects.exclude(status="closed").count(),
        "breakdown_cases": breakdown_cases,
        "whale_cases": Case.objects.filter(customer_id=whale).count(),
        "customers": len(customer_ids),
        "took": {k: round(v, 1) for k, v in took.items()},
        "build_s": round(time.perf_counter() - t0, 1),
        "viewer": viewer.pk,
        "token": token,
        "breakdown": breakdown.pk,
        "whale": whale,
        "customer": some_customer,
        "case_ids": [*sample, breakdown_case, opened[-1]],
        "site": sites[2].code,
    }


def _pages(info: dict[str, Any], cursor: str) -> list[tuple[str, str, str, float, bool]]:
    """(name, path, group, goal ms, htmx) of every page the issue names."""
    c1, c2, _c3, bd_case, whale_case = info["case_ids"]
    bd = info["breakdown"]
    inbox = [
        ("inbox mine", "/cases/", False),
        ("inbox team", "/cases/?view=team", False),
        ("inbox all open", "/cases/?view=all", False),
        ("inbox unassigned", "/cases/?view=unassigned", False),
        ("inbox breached", "/cases/?view=breached", False),
        ("inbox due soon", "/cases/?view=due_soon", False),
        ("inbox waiting", "/cases/?view=waiting", False),
        (
            "inbox filtered (site, high)",
            f"/cases/?view=all&site={info['site']}&severity=high",
            False,
        ),
        ("inbox newest first", "/cases/?view=all&sort=newest", False),
        ("inbox page 51 (2,500 in)", f"/cases/?view=all&after={cursor}", False),
        ("inbox htmx refresh", "/cases/?view=all", True),
    ]
    pages = [(n, p, "inbox", GOAL_INBOX_MS, h) for n, p, h in inbox]
    pages += [
        (n, p, "page", GOAL_PAGE_MS, False)
        for n, p in [
            ("case page", f"/cases/{c1}/"),
            ("case page (breakdown case)", f"/cases/{bd_case}/"),
            ("case page (customer with hundreds)", f"/cases/{whale_case}/"),
            ("customer page", f"/customers/{info['customer']}/"),
            ("customer page (hundreds of cases)", f"/customers/{info['whale']}/"),
            ("customer list", "/customers/"),
            ("customer search", "/customers/?q=Regular+123"),
            ("case search (reference)", f"/search/?q=BB-{c2:05d}"),
            ("case search (words)", "/search/?q=broken+cold"),
            ("catalog", "/catalog/"),
            ("funds", "/funds/"),
            ("breakdown list", "/breakdowns/"),
            ("breakdown page", f"/breakdowns/{bd}/"),
            ("breakdown progress poll", f"/breakdowns/{bd}/progress/"),
        ]
    ]
    return pages


def _count_queries(info: dict[str, Any]) -> dict[str, Any]:
    """A staff session, the deep cursor, and each page once with its queries counted."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bounceback.accounts.models import User
    from bounceback.cases.inbox import InboxQuery, cases_inbox_page

    viewer = User.objects.get(pk=info["viewer"])
    after = None
    for _ in range(50):
        after = cases_inbox_page(
            user=viewer, query=InboxQuery(view="all"), after=after, counts=False
        ).next_after
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)
    counts: dict[str, Any] = {}
    for name, path, _group, _goal, htmx in _pages(info, after or ""):
        headers = {"HX-Request": "true"} if htmx else {}
        client.get(path, headers=headers)  # caches warm, as in a served process
        with CaptureQueriesContext(connection) as q:
            resp = client.get(path, headers=headers)
        counts[name] = {"queries": len(q.captured_queries), "status": resp.status_code}
    return {
        "cursor": after,
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "cookie": settings.SESSION_COOKIE_NAME,
        "counts": counts,
    }


def child(n_cases: int, out: str) -> None:
    harness.setup_django(migrate=True)
    info = _build(n_cases)
    log(f"built {info['cases']:,} cases in {info['build_s']} s: {info['took']}")
    info.update(_count_queries(info))
    Path(out).write_text(json.dumps(info))


# ---------------------------------------------------------------- the parent: timing


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def time_pages(server: harness.Server, info: dict[str, Any], reps: int) -> dict[str, Any]:
    """Each page reps times in a row on one keep-alive connection, with the CPU split."""
    host, port = "127.0.0.1", server.port
    cookie = {"Cookie": f"{info['cookie']}={info['session']}"}
    out: dict[str, Any] = {}
    for name, path, group, goal, htmx in _pages(info, info["cursor"] or ""):
        headers = dict(cookie, **({"HX-Request": "true"} if htmx else {}))
        conn = http.client.HTTPConnection(host, port, timeout=120)
        statuses: dict[int, int] = {}
        for _ in range(2):
            _get(conn, path, headers)
        lat = []
        with harness.Phase(name, server_pid=server.pid) as phase:
            for _ in range(reps):
                t = time.perf_counter()
                status = _get(conn, path, headers)
                lat.append((time.perf_counter() - t) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        lat.sort()
        p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
        out[name] = {
            "path": path,
            "group": group,
            "goal_ms": goal,
            "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(p99, 2),
            "statuses": {str(k): v for k, v in statuses.items()},
            "queries": info["counts"].get(name, {}).get("queries"),
            # CPU the gunicorn workers spent per call: what a page costs the app, and on
            # a quiet machine close to its latency (calls are sequential, most pages' SQL
            # takes 1-2 ms). Far less inflated than wall time when other processes take
            # the cores. PostgreSQL's CPU is left out: other databases share its server.
            "cpu_ms": round(phase.cpu.get("server_cpu_s", 0) / reps * 1000, 1),
            "cpu": phase.cpu,
            "warning": phase.warning,
        }
        log(
            f"{name}: p50 {out[name]['p50_ms']} ms, p99 {out[name]['p99_ms']} ms, "
            f"{out[name]['queries']} queries" + (f"  {phase.warning}" if phase.warning else "")
        )
    return out


def run_database(kind: str, cfg: Config, run: harness.Run, n_cases: int, reps: int) -> dict:
    db = harness.Database(
        kind, cfg, run.workdir, pg_db=cfg.str("BENCH_LISTS_PG_DB"), **harness.served_env()
    )
    result: dict[str, Any] = {"db": kind, "version": db.version()}
    log(f"==== {kind}: {result['version']} ====")
    with db:
        out_path = run.workdir / f"lists-{kind}.json"
        with harness.Phase("build", min_window_s=0) as build:
            subprocess.run(
                [PY, __file__, "--child", "--cases", str(n_cases), "--out", str(out_path)],
                env=db.env,
                cwd=harness.REPO,
                check=True,
                timeout=4 * 3600,
            )
        info = json.loads(out_path.read_text())
        result["build"] = {
            k: info[k]
            for k in (
                "cases",
                "open",
                "breakdown_cases",
                "whale_cases",
                "customers",
                "took",
                "build_s",
            )
        }
        result["build"]["cpu"] = build.cpu
        bad = {n: c for n, c in info["counts"].items() if c["status"] not in OK}
        if bad:
            result["bad_status"] = bad
        server = harness.Server(db, cfg, run.logs)
        try:
            server.start(info["token"])
            result["quiet"] = harness.wait_quiet(cfg)
            result["pages"] = time_pages(server, info, reps)
        finally:
            result["server_log"] = server.stop()
    return result


def report(results: dict[str, Any]) -> tuple[str, bool]:
    lines = [
        f"Lists at {fmt(results['cases'])} cases: p50 / p99 ms over {results['reps']} calls "
        "per page (HTTP, gunicorn gthread, DEBUG off), the app's CPU per call, "
        "queries per page, goal (issue 20)",
        f"host: {results['host']}",
        "",
    ]
    met = True
    for r in results["databases"]:
        b = r["build"]
        lines.append(
            f"== {r['db']} ({r['version']}): {fmt(b['cases'])} cases, {fmt(b['open'])} open, "
            f"{fmt(b['breakdown_cases'])} from the breakdown's outreach, one customer with "
            f"{fmt(b['whale_cases'])}; built in {b['build_s']} s {b['took']}"
        )
        if r.get("bad_status"):
            lines.append(f"  NOT 200 when counted: {r['bad_status']}")
        width = max(len(n) for n in r["pages"]) + 2
        lines.append(f"  {'page':<{width}}{'p50':>9}{'p99':>9}{'cpu ms':>9}{'queries':>9}  goal")
        for name, p in r["pages"].items():
            answered = {int(k) for k in p["statuses"]} <= OK
            ok = p["p99_ms"] < p["goal_ms"] and answered
            met &= ok
            verdict = "met" if ok else "NOT met"
            if not answered:
                verdict += f" (statuses {p['statuses']})"
            lines.append(
                f"  {name:<{width}}{p['p50_ms']:>9.1f}{p['p99_ms']:>9.1f}{p.get('cpu_ms', 0):>9.1f}"
                f"{fmt(p['queries']):>9}  < {p['goal_ms']:.0f} ms: {verdict}"
                + (f"  [{p['warning']}]" if p.get("warning") else "")
            )
        lines.append("")
    peer = results.get("peer_run")
    if peer:
        lines.append("Peer django-helpdesk measured in THIS run (--with-peer), p50 / p99 ms:")
        if peer.get("error"):
            lines.append("  " + peer["error"])
        for r in results["databases"]:
            theirs = (peer.get(r["db"]) or {}).get("list") or {}
            ours = r["pages"].get("inbox all open", {})
            for target in ("staff_page", "staff_datatables", "api_list"):
                lat = theirs.get(target) or {}
                if not lat.get("n"):
                    continue
                ratio = lat["p99_ms"] / ours["p99_ms"] if ours.get("p99_ms") else 0
                lines.append(
                    f"  {r['db']} peer {target}: {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f}; "
                    f"our inbox (all open) {ours.get('p50_ms')} / {ours.get('p99_ms')}: "
                    f"{ratio:,.1f}x faster at p99"
                )
        if peer.get("warning"):
            lines.append(f"  {peer['warning']}")
        lines.append("")
    lines.append("GOAL every page under its goal at p99: " + ("PASS" if met else "FAIL"))
    return "\n".join(lines), met


def main() -> int:
    ap = harness.parser(__doc__, raw=True)
    ap.add_argument("--cases", type=int, help="cases to build (default 100,000)")
    ap.add_argument("--reps", type=int, help="timed calls per page (default 40)")
    ap.add_argument("--with-peer", action="store_true", help="also run the peer's harness")
    ap.add_argument("--child", action="store_true", help=argparse_hidden())
    ap.add_argument("--out", help=argparse_hidden())
    harness.add_outputs(ap, strict="exit 2 if a page misses its goal")
    args = ap.parse_args()
    cfg = Config(args.quick, CONFIG)
    n_cases = args.cases or cfg.int("BENCH_LISTS_CASES")
    if args.child:
        child(n_cases, args.out)
        return 0
    reps = args.reps or cfg.int("BENCH_LISTS_REPS")
    kinds = harness.databases(args)
    with harness.Run("lists", results_dir=args.results_dir, keep=cfg.keep, logs=True) as run:
        results: dict[str, Any] = {
            **run.header(cfg, args.quick),
            "cases": n_cases,
            "reps": reps,
            "databases": [run_database(k, cfg, run, n_cases, reps) for k in kinds],
        }
        if args.with_peer:
            results["peer_run"] = harness.run_peer(run.results_dir, kinds=kinds, tickets=n_cases)
    results["run_s"] = round(run.elapsed(), 1)
    table, met = report(results)
    results["table"] = table
    path = run.save(results)
    print(table)
    print(f"\nresults: {path}  logs: {run.logs}")
    if any(r.get("bad_status") for r in results["databases"]):
        return 1
    return 2 if args.strict and not met else 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
