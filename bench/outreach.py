"""Breakdown outreach at scale (`make bench` runs it after timers.py).

For each database (SQLite in a temporary data directory, PostgreSQL in a fresh
database `bounceback_bench_outreach` that this run drops, creates and drops),
in a child process that loads Django against it:

  0. migrate; BENCH_OUTREACH_CUSTOMERS customers, each with an email and one
     booking at one site tonight, written with bulk inserts (not timed), and a
     playbook (apology, explanation and alternatives templates);
  1. declare   breakdown_declare over the site and tonight's window: the
               affected customers found (timed, reported for information);
  2. outreach  breakdown_confirm_outreach, then the outreach job as a worker runs
               it (job_run: BOUNCEBACK_BULK_CONNECTIONS lanes on PostgreSQL)
               until no customer is left to contact: every case opened
               (apologised, with its two events), every interaction and outbox
               row written, every affected row marked, the completion written.
               Timed from the confirm call to the job's end.
               Goal: < 10 s on PostgreSQL.
  3. raw       the very rows step 2 wrote (cases, case events, interactions,
               outbox rows, and the affected-row updates) are read back,
               deleted, and written again through the driver with plain
               executemany, one transaction per chunk of the same size as the
               outreach's.  Goal: outreach <= 5x raw, on both databases.
  4. waves     a status update and then the all-clear to everyone, each from the
               service call to the end of the waves job that sends it in chunks.
               Goal: each < 10 s on PostgreSQL.

Each phase records the CPU other processes used (procstat) and the report
prints a WARNING beside a figure they contaminated (the machine is shared).

usage: .venv/bin/python bench/outreach.py [--quick] [--sqlite-only | --postgres-only]
                                          [--strict] [--results-dir DIR]

Sizes are environment variables: BENCH_OUTREACH_CUSTOMERS (default 100000,
--quick 300), BENCH_OUTREACH_CHUNK (default 5000, --quick 100),
BENCH_PG_ADMIN_URL, BENCH_OUTREACH_PG_DB, BENCH_KEEP=1 to keep the data.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import harness
import procstat
from harness import PY, Config, log

GOAL_PG_S = 10.0
GOAL_RATIO = 5.0
# Other processes using this many cores during a phase make its figure suspect.
BUSY_CORES = 0.3


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, dict[str, Any]]:
    """fn(), its wall time, and the CPU split of the machine meanwhile."""
    before = procstat.snapshot()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    return result, seconds, procstat.split(before, procstat.snapshot(), os.getpid())


def _job(key: str) -> None:
    """Run the job `key` as a worker's task does, and fail loudly if its run failed."""
    from bounceback.background.models import Job
    from bounceback.background.services import job_run

    if not job_run(key=key):
        raise SystemExit(f"job {key} was not due")
    job = Job.objects.get(key=key)
    if job.last_error:
        raise SystemExit(f"job {key} failed: {job.last_error}")


# name: (default, --quick default, help)
CONFIG: harness.ConfigTable = {
    "BENCH_OUTREACH_CUSTOMERS": ("100000", "300", "affected customers"),
    "BENCH_OUTREACH_CHUNK": ("5000", "100", "customers per outreach transaction"),
    **harness.database_settings("BENCH_OUTREACH_PG_DB", "bounceback_bench_outreach"),
}


# ---------------------------------------------------------------- the child: Django in-process


def _seed(count: int) -> dict[str, Any]:
    """Customers with an email and a booking at one site tonight, in bulk; a playbook."""
    from bounceback.sites.services import site_create
    from bounceback.testing.breakdowns_factories import make_booked_customers_in_bulk
    from bounceback.testing.playbooks_factories import make_playbook

    started = time.perf_counter()
    site = site_create(code="grand-hall", name="Grand Hall")
    make_booked_customers_in_bulk(count, site=site)
    playbook = make_playbook(name="Power outage at an event")
    return {"site_id": site.pk, "playbook_id": playbook.pk, "seed_s": time.perf_counter() - started}


OUTREACH_TABLES = (
    ("cases_case", "breakdown_id = %s"),
    ("interactions_interaction", "case_id IN (SELECT id FROM cases_case WHERE breakdown_id = %s)"),
    ("outbox_outboundmessage", "batch = %s"),
    ("cases_caseevent", "case_id IN (SELECT id FROM cases_case WHERE breakdown_id = %s)"),
)


def _columns(table: str) -> list[tuple[str, bool]]:
    """(column, is_json) in table order."""
    from django.apps import apps
    from django.db import models

    for model in apps.get_models():
        if model._meta.db_table == table:
            return [
                (f.column, isinstance(f, models.JSONField)) for f in model._meta.concrete_fields
            ]
    raise LookupError(table)


def _raw(breakdown_id: int, chunk: int) -> dict[str, Any]:
    """Read back what the outreach wrote, delete it, and write it again with executemany."""
    from django.db import connection, transaction

    pg = connection.vendor == "postgresql"
    q = connection.ops.quote_name
    batch = f"bd-{breakdown_id}-outreach"
    data: dict[str, list[tuple[Any, ...]]] = {}
    layouts: dict[str, list[tuple[str, bool]]] = {}
    with connection.cursor() as cursor:
        for table, where in OUTREACH_TABLES:
            cols = _columns(table)
            layouts[table] = cols
            select = ", ".join(f"{q(c)}::text" if pg and js else q(c) for c, js in cols)
            arg = batch if table == "outbox_outboundmessage" else breakdown_id
            cursor.execute(f"SELECT {select} FROM {table} WHERE {where} ORDER BY id", [arg])
            data[table] = cursor.fetchall()
        cursor.execute(
            "SELECT id, channel, language, case_id, message_id, contacted_at "
            "FROM breakdowns_affectedcustomer WHERE breakdown_id = %s AND state = 'queued' "
            "ORDER BY id",
            [breakdown_id],
        )
        affected = cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE breakdowns_affectedcustomer SET state = 'pending', case_id = NULL, "
            "message_id = NULL WHERE breakdown_id = %s",
            [breakdown_id],
        )
        for table, _ in reversed(OUTREACH_TABLES):
            ids = [row[0] for row in data[table]]
            for start in range(0, len(ids), 5000):
                part = ids[start : start + 5000]
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(part))})",
                    part,
                )
    rows = sum(len(v) for v in data.values()) + len(affected)
    # Rows grouped per chunk of cases, as the outreach wrote them (before the clock starts).
    case_ids = [row[0] for row in data["cases_case"]]
    chunk_of = {pk: i // chunk for i, pk in enumerate(case_ids)}
    names = {table: [c for c, _ in layouts[table]] for table in data}
    interaction_case = {
        r[0]: r[names["interactions_interaction"].index("case_id")]
        for r in data["interactions_interaction"]
    }
    chunks = (len(case_ids) + chunk - 1) // chunk
    parts: dict[str, list[list[tuple[Any, ...]]]] = {}
    for table, _ in OUTREACH_TABLES:
        parts[table] = [[] for _ in range(chunks)]
        if table == "cases_case":
            owner = lambda r: r[0]  # noqa: E731
        elif table == "outbox_outboundmessage":
            at = names[table].index("interaction_id")
            owner = lambda r, at=at: interaction_case[r[at]]  # noqa: E731
        else:
            at = names[table].index("case_id")
            owner = lambda r, at=at: r[at]  # noqa: E731
        for r in data[table]:
            parts[table][chunk_of[owner(r)]].append(r)
    updates: list[list[tuple[Any, ...]]] = [[] for _ in range(chunks)]
    for a in affected:
        updates[chunk_of[a[3]]].append((a[1], a[2], a[3], a[4], a[5], a[0]))
    sql = {
        table: f"INSERT INTO {table} ({', '.join(q(n) for n in names[table])}) VALUES ("
        + ", ".join("%s::jsonb" if pg and js else "%s" for _, js in layouts[table])
        + ")"
        for table, _ in OUTREACH_TABLES
    }
    started = time.perf_counter()
    for index in range(chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            for table, _ in OUTREACH_TABLES:
                cursor.executemany(sql[table], parts[table][index])
            cursor.executemany(
                "UPDATE breakdowns_affectedcustomer SET state = 'queued', channel = %s, "
                "language = %s, case_id = %s, message_id = %s, contacted_at = %s WHERE id = %s",
                updates[index],
            )
    seconds = time.perf_counter() - started
    return {"raw_s": seconds, "raw_rows": rows}


def child(count: int, chunk: int) -> dict[str, Any]:
    harness.setup_django(migrate=True)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bounceback.breakdowns.models import AffectedCustomer
    from bounceback.breakdowns.services import (
        breakdown_confirm_outreach,
        breakdown_declare,
        outreach_job_key,
    )
    from bounceback.cases.models import Case
    from bounceback.outbox.models import OutboundMessage
    from bounceback.playbooks.models import Playbook
    from bounceback.sites.models import Site

    seeded = _seed(count)
    log(f"{connection.vendor}: {count} customers seeded in {seeded['seed_s']:.1f} s")
    now = timezone.now()
    started = time.perf_counter()
    breakdown = breakdown_declare(
        actor=None,
        playbook=Playbook.objects.get(pk=seeded["playbook_id"]),
        title="Power cut at the Grand Hall",
        window_start=now,
        window_end=now + timezone.timedelta(hours=4),
        site=Site.objects.get(pk=seeded["site_id"]),
    )
    declare_s = time.perf_counter() - started
    log(f"{connection.vendor}: declared, {breakdown.affected_count} affected in {declare_s:.1f} s")

    def outreach() -> None:
        breakdown_confirm_outreach(breakdown=breakdown, actor=None)
        _job(outreach_job_key(breakdown.pk))

    _, outreach_s, outreach_cpu = _timed(outreach)
    left = breakdown.affected.filter(state=AffectedCustomer.State.PENDING).count()
    if left:
        raise SystemExit(f"{left} customers still pending after the outreach job")
    cases = Case.objects.filter(breakdown=breakdown, proactive=True).count()
    queued = OutboundMessage.objects.filter(batch=f"bd-{breakdown.pk}-outreach").count()
    log(f"{connection.vendor}: outreach {outreach_s:.2f} s ({cases} cases, {queued} messages)")
    raw = _raw(breakdown.pk, chunk)
    log(f"{connection.vendor}: raw executemany {raw['raw_s']:.2f} s ({raw['raw_rows']} rows)")
    extra = _after(breakdown)
    return {
        "vendor": connection.vendor,
        "customers": count,
        "chunk": chunk,
        "lanes": settings.BOUNCEBACK_BULK_CONNECTIONS if connection.vendor == "postgresql" else 1,
        "outreach_cpu": outreach_cpu,
        "affected": breakdown.affected_count,
        "declare_s": round(declare_s, 3),
        "outreach_s": round(outreach_s, 3),
        "cases": cases,
        "messages": queued,
        "raw_s": round(raw["raw_s"], 3),
        "raw_rows": raw["raw_rows"],
        "seed_s": round(seeded["seed_s"], 2),
        **extra,
    }


def _after(breakdown: Any) -> dict[str, Any]:
    """For information: one delivery-lane claim over the staggered wave (the first
    due message), a status update and the all-clear."""
    from django.db import connection
    from django.utils import timezone

    from bounceback.background.deliveries import lane_claim, lane_due, lane_release
    from bounceback.breakdowns.models import BreakdownMessage
    from bounceback.breakdowns.services import (
        breakdown_all_clear,
        breakdown_post_update,
        waves_job_key,
    )
    from bounceback.outbox.services import OUTBOX_LANE

    at = timezone.now() + timezone.timedelta(seconds=30)
    plan = lane_due(OUTBOX_LANE, now=at).values_list("pk", flat=True)[:1].explain()
    started = time.perf_counter()
    claim = lane_claim(OUTBOX_LANE, now=at)
    sweep_s = time.perf_counter() - started
    handed = 0 if claim.pk is None else 1
    if claim.pk is not None:
        lane_release(OUTBOX_LANE, claim.pk)

    def wave(send: Callable[[], Any]) -> Callable[[], int]:
        def run() -> int:
            send()
            message = breakdown.messages.order_by("-id").first()
            if message.state == BreakdownMessage.State.SENDING:
                _job(waves_job_key(breakdown.pk))
                message.refresh_from_db()
            if message.state != BreakdownMessage.State.SENT:
                raise SystemExit(f"the {message.kind} wave did not finish")
            return message.recipients

        return run

    update_n, update_s, update_cpu = _timed(
        wave(
            lambda: breakdown_post_update(
                breakdown=breakdown, actor=None, body="Generators arrive at nine."
            )
        )
    )
    clear_n, all_clear_s, all_clear_cpu = _timed(
        wave(lambda: breakdown_all_clear(breakdown=breakdown, actor=None, body="Power is back."))
    )
    log(
        f"{connection.vendor}: lane claim {sweep_s * 1000:.0f} ms ({handed} claimed), "
        f"update {update_s:.2f} s, all-clear {all_clear_s:.2f} s"
    )
    return {
        "sweep_ms": round(sweep_s * 1000, 1),
        "sweep_handed": handed,
        "sweep_uses_pending_index": "outbox_pending_idx" in plan,
        "update_s": round(update_s, 3),
        "update_recipients": update_n,
        "update_cpu": update_cpu,
        "all_clear_s": round(all_clear_s, 3),
        "all_clear_recipients": clear_n,
        "all_clear_cpu": all_clear_cpu,
    }


# ---------------------------------------------------------------- the parent


def run_database(kind: str, cfg: Config, run: harness.Run) -> dict[str, Any]:
    customers, chunk = cfg.str("BENCH_OUTREACH_CUSTOMERS"), cfg.str("BENCH_OUTREACH_CHUNK")
    log(f"{kind}: {customers} customers")
    db = harness.Database(
        kind,
        cfg,
        run.workdir,
        pg_db=cfg.str("BENCH_OUTREACH_PG_DB"),
        # Tasks enqueued on commit (the outreach task) run nowhere: the bench
        # calls the services itself.
        backend="database",
        BOUNCEBACK_OUTREACH_CHUNK=chunk,
    )
    with db:
        cmd = [PY, __file__, "--child", customers, chunk]
        return harness.run_json(cmd, db.env, 3600, f"{kind} outreach bench", echo=True)


def report(results: list[dict[str, Any]]) -> tuple[str, bool]:
    lines = [
        "",
        "Breakdown outreach: confirm -> every message queued and every case opened",
        f"{'database':<12}{'customers':>10}{'declare s':>11}{'outreach s':>12}{'rows/s':>10}"
        f"{'raw s':>9}{'raw rows/s':>12}{'x raw':>8}",
    ]
    ok = True
    verdicts = []
    for r in results:
        rows = r["raw_rows"]
        ratio = r["outreach_s"] / r["raw_s"] if r["raw_s"] else float("inf")
        r["ratio"] = round(ratio, 2)
        lines.append(
            f"{r['vendor']:<12}{r['customers']:>10}{r['declare_s']:>11.2f}{r['outreach_s']:>12.2f}"
            f"{rows / r['outreach_s']:>10.0f}{r['raw_s']:>9.2f}{rows / r['raw_s']:>12.0f}"
            f"{ratio:>8.2f}"
        )
        within = ratio <= GOAL_RATIO
        ok &= within
        verdicts.append(
            f"GOAL {r['vendor']} outreach within {GOAL_RATIO:.0f}x of raw inserts: "
            f"{'PASS' if within else 'FAIL'} ({ratio:.2f}x)"
        )
        if r["vendor"] == "postgresql":
            fast = r["outreach_s"] < GOAL_PG_S
            ok &= fast
            verdicts.append(
                f"GOAL postgresql outreach under {GOAL_PG_S:.0f} s for {r['customers']} customers: "
                f"{'PASS' if fast else 'FAIL'} ({r['outreach_s']:.2f} s)"
            )
        if r["cases"] != r["affected"] or r["messages"] != r["affected"]:
            ok = False
            verdicts.append(
                f"ERROR {r['vendor']}: {r['affected']} affected but {r['cases']} cases and "
                f"{r['messages']} messages"
            )
    lines.append("rows = cases + 2 case events each + interactions + outbox rows + affected rows")
    for r in results:
        if "update_s" in r:
            lines.append(
                f"{r['vendor']} ({r['lanes']} lane{'s' if r['lanes'] != 1 else ''}): status "
                f"update to everyone {r['update_s']:.2f} s ({r['update_recipients']} sent), "
                f"all-clear {r['all_clear_s']:.2f} s ({r['all_clear_recipients']} sent); one "
                f"outbox lane claim {r['sweep_ms']:.0f} ms ({r['sweep_handed']} claimed, "
                f"pending index {'used' if r['sweep_uses_pending_index'] else 'NOT used'})"
            )
            if r["vendor"] == "postgresql":
                for name, key in (("status update", "update_s"), ("all-clear", "all_clear_s")):
                    fast = r[key] < GOAL_PG_S
                    ok &= fast
                    verdicts.append(
                        f"GOAL postgresql {name} under {GOAL_PG_S:.0f} s for "
                        f"{r['customers']} customers: {'PASS' if fast else 'FAIL'} ({r[key]:.2f} s)"
                    )
        for phase in ("outreach", "update", "all_clear"):
            cpu = r.get(f"{phase}_cpu") or {}
            warning = harness.contamination(r["vendor"], phase, cpu, BUSY_CORES)
            if warning:
                verdicts.append(warning)
            elif cpu:
                lines.append(
                    f"{r['vendor']} {phase}: other processes {cpu.get('other_cores', 0):.2f} "
                    f"cores, PostgreSQL {cpu.get('postgres_cores', 0):.2f}, this bench "
                    f"{cpu.get('bench_cores', 0):.2f}"
                )
    lines += verdicts
    return "\n".join(lines), ok


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))))
        return 0
    parser = harness.parser(__doc__.split("\n")[0])
    harness.add_outputs(parser, strict="exit 2 when a goal is missed")
    args = parser.parse_args()
    cfg = Config(args.quick, CONFIG)
    with harness.Run("outreach", results_dir=args.results_dir, keep=cfg.keep) as run:
        results = [run_database(kind, cfg, run) for kind in harness.databases(args)]
    text, ok = report(results)
    print(text)
    run.save(harness.summary(cfg, args.quick, results, goals_met=ok))
    return 2 if (args.strict and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
