"""Bounceback fault benchmark: what background work does when things break, measured.

For each database (SQLite with the database task backend, in a temporary data
directory; PostgreSQL with the Redis task backend, in a database
`bounceback_bench_faults` that the run drops and creates), a child process
sets up the rows through the product's own code and drives real `bounceback
worker` processes, on loopback, against a real SMTP server (aiosmtpd) that
counts what it receives by Message-ID:

  1. delivery under SIGKILL: BENCH_FAULT_MESSAGES messages, two workers, one
     killed outright every BENCH_FAULT_KILL_EVERY seconds (and replaced) until
     BENCH_FAULT_KILLS kills: messages lost, messages received twice, time to
     send them all, and the longest the task queue grew;
  2. the duplicate window: the time between the server's 250 and the commit
     that records the message as sent, over BENCH_FAULT_WINDOW sends in this
     process (p50 / p99 / max): the only moment a crash repeats a send;
  3. temporary refusals: BENCH_FAULT_GREYLIST messages answered 451 at RCPT
     for 5 seconds, then accepted: delivered once each, none failed;
  4. outreach under SIGKILL: a breakdown hitting BENCH_FAULT_CUSTOMERS
     customers, the worker running it killed twice: every customer contacted
     exactly once, the time from each kill until the outreach moved again,
     total time, longest queue.

usage: .venv/bin/python bench/faults.py [--quick] [--sqlite-only | --postgres-only]

Leases are shortened to BENCH_FAULT_LEASE seconds (default 5; production uses
30), which is what bounds how soon a dead worker's work is taken over.
PostgreSQL: BENCH_PG_ADMIN_URL, BENCH_FAULT_PG_DB, BENCH_KEEP=1 to keep the data.
Prints a table and one JSON line per database.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import harness
from harness import PY, REPO, Config, log

# name: (default, --quick default, help)
CONFIG: harness.ConfigTable = {
    "BENCH_FAULT_MESSAGES": ("1000", "100", "messages sent while workers are SIGKILLed"),
    "BENCH_FAULT_KILLS": ("5", "2", "workers SIGKILLed while they send"),
    "BENCH_FAULT_KILL_EVERY": ("3", "2", "seconds between two kills"),
    "BENCH_FAULT_WINDOW": ("2000", "100", "sends timed for the duplicate window"),
    "BENCH_FAULT_GREYLIST": ("200", "20", "messages answered 451 for 5 s"),
    "BENCH_FAULT_CUSTOMERS": ("20000", "2000", "customers of the outreach under SIGKILL"),
    "BENCH_FAULT_LEASE": ("5", "3", "lease seconds (production: 30)"),
    **harness.database_settings("BENCH_FAULT_PG_DB", "bounceback_bench_faults"),
}
SIZES = ("messages", "kills", "kill_every", "window", "greylist", "customers", "lease")


def sizes(cfg: Config) -> dict[str, int]:
    """The sizes the child takes: "messages" is BENCH_FAULT_MESSAGES, and so on."""
    return {name: cfg.int(f"BENCH_FAULT_{name.upper()}") for name in SIZES}


# ----------------------------------------------------------------------- the child


def _child(config: dict[str, int]) -> dict[str, Any]:
    harness.setup_django(migrate=True)
    from django.conf import settings

    from bounceback.testing.smtp import TestSmtpServer

    smtp = TestSmtpServer().start()
    data_dir = Path(settings.DATA_DIR)
    try:
        results = {
            "database": "postgresql"
            if "postgresql" in settings.DATABASES["default"]["ENGINE"]
            else "sqlite",
            "task_backend": settings.TASK_BACKEND,
            "lease_s": config["lease"],
        }
        results["delivery"] = _delivery_under_kills(config, smtp, data_dir)
        results["window"] = _window(config, smtp)
        results["greylist"] = _greylist(config, smtp, data_dir)
        results["outreach"] = _outreach_under_kills(config, data_dir)
    finally:
        smtp.stop()
    results["contaminated"] = harness.contaminated()
    return results


def _env(config: dict[str, int], data_dir: Path, **extra: str) -> dict[str, str]:
    from bounceback.server.testing import process_env

    return process_env(
        data_dir=data_dir,
        BOUNCEBACK_LEASE_SECONDS=str(config["lease"]),
        BOUNCEBACK_RETRY_SECONDS="1",
        BOUNCEBACK_OUTREACH_PER_MINUTE="email=600000",
        LOG_LEVEL="ERROR",
        **extra,
    )


class _Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        from bounceback.server.testing import CLI

        process = subprocess.Popen(
            [*CLI, "worker"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.live():
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)


class _QueueWatch:
    """The longest the task queue grew, sampled every 100 ms."""

    def __init__(self) -> None:
        self.longest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _length(self) -> int:
        from django.conf import settings

        if settings.TASK_BACKEND == "redis":
            import django_rq

            return int(django_rq.get_queue("default").count)
        from django_tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()

    def _run(self) -> None:
        from django.db import connection

        while not self._stop.is_set():
            self.longest = max(self.longest, self._length())
            self._stop.wait(0.1)
        connection.close()

    def __enter__(self) -> _QueueWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _messages(count: int, prefix: str) -> list[str]:
    from bounceback.customers.services import customer_create
    from bounceback.outbox.services import outbox_enqueue

    ids = []
    for n in range(count):
        address = f"{prefix}{n}@example.com"
        customer = customer_create(name=f"Guest {n}", emails=[address])
        ids.append(
            outbox_enqueue(
                channel="email",
                to_address=address,
                subject="We're sorry",
                body_text="We are sorry the hall went dark; your tickets are refunded.",
                customer=customer,
            ).message_id
        )
    return ids


def _sent(prefix: str) -> int:
    from bounceback.outbox.models import OutboundMessage

    return OutboundMessage.objects.filter(
        state=OutboundMessage.State.SENT, to_address__startswith=prefix
    ).count()


def _delivery_under_kills(config: dict[str, int], smtp: Any, data_dir: Path) -> dict[str, Any]:
    smtp.received.message_ids.clear()
    smtp.behaviour.data_delay = 0.005
    ids = _messages(config["messages"], "kill")
    workers = _Workers(_env(config, data_dir, **smtp.environment()))
    rng = random.Random(11)
    phase = harness.Phase("deliveries under kills").start()
    started = time.perf_counter()
    with _QueueWatch() as queue:
        workers.start()
        workers.start()
        for _ in range(config["kills"]):
            time.sleep(config["kill_every"])
            live = workers.live()
            if live:
                workers.kill(rng.choice(live))
            workers.start()
        done = _wait(lambda: _sent("kill") == len(ids), timeout=600)
    elapsed = time.perf_counter() - started
    phase.stop()
    workers.stop()
    received = smtp.received.message_ids
    lost = [mid for mid in ids if received[mid] == 0]
    repeats = sum(n - 1 for n in received.values() if n > 1)
    smtp.behaviour.data_delay = 0.0
    return {
        "messages": len(ids),
        "kills": config["kills"],
        "all_sent": done,
        "lost": len(lost),
        "received_twice": repeats,
        "seconds": round(elapsed, 1),
        "longest_queue": queue.longest,
    }


def _window(config: dict[str, int], smtp: Any) -> dict[str, Any]:
    from django.conf import settings

    from bounceback.background import deliveries
    from bounceback.outbox.services import OUTBOX_LANE

    for name, value in smtp.settings().items():
        setattr(settings, name, value)
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 600000}
    _messages(config["window"], "window")
    deliveries._windows.seconds.clear()
    started = time.perf_counter()
    sent = deliveries.lane_run_due(OUTBOX_LANE)
    elapsed = time.perf_counter() - started
    stats = deliveries.window_stats()
    return {
        "sends": sent,
        "per_second_one_thread": round(sent / elapsed, 1),
        **{k: round(v, 2) for k, v in stats.items() if k != "count"},
    }


def _greylist(config: dict[str, int], smtp: Any, data_dir: Path) -> dict[str, Any]:
    from bounceback.outbox.models import OutboundMessage

    smtp.received.message_ids.clear()
    smtp.behaviour.rcpt = "451 4.7.1 Greylisted, try again later"
    ids = _messages(config["greylist"], "grey")
    workers = _Workers(_env(config, data_dir, **smtp.environment()))
    workers.start()
    time.sleep(5)
    smtp.behaviour.rcpt = "250 OK"
    done = _wait(lambda: _sent("grey") == len(ids), timeout=300)
    workers.stop()
    received = smtp.received.message_ids
    return {
        "messages": len(ids),
        "all_sent": done,
        "delivered_once": sum(1 for mid in ids if received[mid] == 1),
        "failed": OutboundMessage.objects.filter(
            to_address__startswith="grey", state=OutboundMessage.State.FAILED
        ).count(),
    }


def _outreach_under_kills(config: dict[str, int], data_dir: Path) -> dict[str, Any]:
    from django.db.models import Count

    from bounceback.accounts.models import User
    from bounceback.background.models import Job
    from bounceback.breakdowns.models import AffectedCustomer
    from bounceback.breakdowns.services import breakdown_confirm_outreach, outreach_job_key
    from bounceback.cases.models import Case
    from bounceback.sites.services import site_create
    from bounceback.testing.breakdowns_factories import (
        make_booked_customers_in_bulk,
        make_breakdown,
    )

    customers = config["customers"]
    lead = User.objects.create_user(username="bench-lead", role="lead")
    site = site_create(code="bench-hall", name="Bench Hall")
    make_booked_customers_in_bulk(customers, site=site)
    breakdown = make_breakdown(actor=lead, site=site)

    def contacted() -> int:
        return (
            AffectedCustomer.objects.filter(breakdown=breakdown)
            .exclude(state=AffectedCustomer.State.PENDING)
            .count()
        )

    workers = _Workers(
        _env(
            config,
            data_dir,
            BOUNCEBACK_OUTREACH_CHUNK=str(max(customers // 20, 100)),
            EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        )
    )
    phase = harness.Phase("outreach under kills").start()
    started = time.perf_counter()
    resumed_after: list[float] = []
    with _QueueWatch() as queue:
        breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
        workers.start()
        for share in (0.25, 0.6):
            _wait(lambda s=share: contacted() >= customers * s, timeout=600)
            workers.kill(workers.live()[0])
            at_kill = contacted()
            killed_at = time.perf_counter()
            workers.start()
            if _wait(lambda a=at_kill: contacted() > a, timeout=600):
                resumed_after.append(round(time.perf_counter() - killed_at, 1))
        key = outreach_job_key(breakdown.pk)
        done = _wait(
            lambda: Job.objects.filter(key=key, state=Job.State.DONE).exists(), timeout=900
        )
    elapsed = time.perf_counter() - started
    phase.stop()
    workers.stop()
    cases = Case.objects.filter(breakdown=breakdown)
    twice = cases.values("customer").annotate(n=Count("id")).filter(n__gt=1).count()
    return {
        "customers": customers,
        "done": done,
        "contacted": contacted(),
        "cases": cases.count(),
        "customers_with_two_cases": twice,
        "kills": 2,
        "resumed_after_s": resumed_after,
        "seconds": round(elapsed, 1),
        "longest_queue": queue.longest,
    }


# ----------------------------------------------------------------------- the parent


def run_database(kind: str, cfg: Config, run: harness.Run) -> dict[str, Any] | None:
    db = harness.Database(
        kind,
        cfg,
        run.workdir,
        pg_db=cfg.str("BENCH_FAULT_PG_DB"),
        backend=harness.task_backend("redis") if kind == "postgresql" else "database",
        DEBUG="false",
        LOG_LEVEL="ERROR",
    )
    try:
        db.create()
    except Exception as exc:  # no server: skip it, say so
        log(f"PostgreSQL unavailable ({exc}); skipped")
        return None
    log(f"{kind}: running (this takes a few minutes)")
    try:
        cmd = [PY, __file__, "_child", json.dumps(sizes(cfg))]
        return harness.run_json(cmd, db.env, 3600, f"{kind} fault bench")
    except harness.ChildFailed as exc:
        log(str(exc))
        return {"database": kind, "error": exc.stderr[-2000:]}
    finally:
        db.drop()


def report(results: list[dict[str, Any]]) -> tuple[str, bool]:
    ok = True
    lines = ["", "Background work under faults (real workers, SIGKILL, real SMTP on loopback)"]
    for r in results:
        if "error" in r:
            lines.append(f"  {r['database']}: FAILED")
            ok = False
            continue
        d, w, g, o = r["delivery"], r["window"], r["greylist"], r["outreach"]
        good = (
            d["all_sent"]
            and d["lost"] == 0
            and g["all_sent"]
            and g["failed"] == 0
            and g["delivered_once"] == g["messages"]
            and o["done"]
            and o["contacted"] == o["customers"]
            and o["customers_with_two_cases"] == 0
        )
        ok = ok and good
        lines += [
            f"  {r['database']} + {r['task_backend']} task backend, lease {r['lease_s']} s"
            f"  {'PASS' if good else 'FAIL'}",
            f"    {d['messages']} messages, {d['kills']} workers SIGKILLed: lost {d['lost']}, "
            f"received twice {d['received_twice']}, all sent in {d['seconds']} s, "
            f"longest task queue {d['longest_queue']}",
            f"    duplicate window (250 to commit): p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, "
            f"max {w['max_ms']} ms over {w['sends']} sends "
            f"({w['per_second_one_thread']} msg/s on one thread)",
            f"    451 at RCPT for 5 s: {g['delivered_once']}/{g['messages']} delivered once, "
            f"{g['failed']} failed",
            f"    outreach to {o['customers']} customers, its worker killed twice: "
            f"{o['contacted']} contacted, {o['customers_with_two_cases']} with two cases, "
            f"moving again {o['resumed_after_s']} s after each kill, done in {o['seconds']} s, "
            f"longest task queue {o['longest_queue']}",
            *(f"    {line}" for line in r.get("contaminated") or []),
        ]
    return "\n".join(lines), ok


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(_child(json.loads(sys.argv[2]))))
        return 0
    parser = harness.parser(__doc__.splitlines()[0])
    args = parser.parse_args()
    cfg = Config(args.quick, CONFIG)
    with harness.Run("faults", results_dir=None, keep=cfg.keep) as run:
        measured = [run_database(kind, cfg, run) for kind in harness.databases(args)]
    results = [r for r in measured if r is not None]
    text, ok = report(results)
    print(text)
    for r in results:
        print(json.dumps(r))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
