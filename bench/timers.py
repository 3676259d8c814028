"""Bounceback timer and case-creation benchmark (`make bench` runs it after run.py).

For each database (SQLite in a temporary data directory, PostgreSQL in a fresh
database `bounceback_bench_timers` that this run drops, creates and drops):

  0. migrate; a bench-only trigger records the clock time at which the engine
     writes a "bench" timer's breach (the product is not changed);
  1. idle, empty   the real worker (`bounceback worker`: task loop plus the
                   clock thread) with no pending timers: CPU of its process
                   tree / wall time = % of one core.  This is the baseline.
  2. load          1,000,000 pending timers straight into timers_timer (COPY
                   on PostgreSQL, executemany on SQLite), due 1 hour to 7 days
                   ahead: a realistic mix of running timers (most with a
                   warning still to come) and breached ones awaiting escalation;
  3. costs         in-process, no worker running: the claim query the engine
                   sends (captured from timers_fire_due) replayed bare through
                   the driver, its plan, and one whole idle clock pass
                   (close_old_connections + clock_tick): the floor under 2.;
  4. idle, 1M      the worker again, with the 1,000,000 pending and nothing due:
                   its CPU (goal < 2% of a core), and the database server's;
  5. stream        the same worker while timers fall due at a steady rate
                   (50/s for 60 s): lateness = (moment fired) - due_at, p50 /
                   p99 (goal p99 < 1 s), from the trigger's write time and from
                   when this process saw the commit (polled every 20 ms);
  6. cases         gunicorn as in run.py: POST /api/cases/ at concurrency 8
                   (req/s, p50/p99), and as the baseline POST /api/transactions/
                   measured the same way on the same server in the same run.

usage: .venv/bin/python bench/timers.py [--quick] [--sqlite-only | --postgres-only]
                                        [--no-timers | --no-cases] [--strict]
                                        [--results-dir DIR]

Sizes are environment variables (defaults in CONFIG below), e.g.
BENCH_TIMERS_PENDING=200000 BENCH_TIMERS_STREAM_S=30 BENCH_CASES=500.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness
import procstat
from harness import HERE, PY, Config, fmt, log, ver
from loadgen import latency_summary, percentile

GOAL_P99_S = 1.0
GOAL_IDLE_CORES = 0.02

# name: (default, --quick default, help)
CONFIG: dict[str, tuple[str, str, str]] = {
    "BENCH_TIMERS_PENDING": ("1000000", "2000", "pending (not due) timers loaded"),
    "BENCH_TIMERS_RATE": ("50", "20", "stream: timers falling due per second"),
    "BENCH_TIMERS_STREAM_S": ("60", "3", "stream: seconds over which they fall due"),
    "BENCH_TIMERS_IDLE_S": ("60", "3", "idle worker measured this long, 1M pending"),
    "BENCH_TIMERS_IDLE_EMPTY_S": (
        "20",
        "2",
        "idle worker baselines, no timers, with and without the clock (0: skip)",
    ),
    "BENCH_TIMERS_SETTLE_S": ("5", "1", "seconds after the worker's first tick before measuring"),
    "BENCH_TIMERS_OBSERVE_MS": ("20", "20", "how often the bench polls for fired timers"),
    "BENCH_TIMERS_REPS": ("300", "20", "repetitions of the in-process cost measurements"),
    "BENCH_CASES": ("1500", "20", "case POSTs measured (and transaction POSTs)"),
    "BENCH_CASES_CONC": ("8", "4", "concurrent connections for the POSTs"),
    "BENCH_CASES_WARMUP": ("32", "4", "unmeasured POSTs of each kind first"),
    "BENCH_CASES_CUSTOMERS": ("500", "10", "customers created before the case phase"),
    **harness.server_settings(time_cap=("90", "30"), quiet_wait=("60", "0")),
    **harness.database_settings("BENCH_TIMERS_PG_DB", "bounceback_bench_timers"),
}

# ---------------------------------------------------------------- timer rows

COLUMNS = (
    "subject_type",
    "subject_id",
    "kind",
    "state",
    "calendar_id",
    "target_seconds",
    "started_at",
    "due_at",
    "warn_at",
    "warned_at",
    "paused_at",
    "remaining_seconds",
    "met_at",
    "breached_at",
    "escalation_level",
    "escalation_period_seconds",
    "escalate_at",
    "next_fire_at",
    "fire_attempts",
    "last_error",
    "created_at",
)
TIME_COLUMNS = {i for i, c in enumerate(COLUMNS) if c.endswith("_at")}
CASE_KINDS = ("apologise", "fix", "update", "follow_up", "document")
TARGETS = (1200, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600)
HOUR, DAY = 3600.0, 86400.0
UNIX = dt.datetime(1970, 1, 1)


def _row(
    subject_type: str,
    subject_id: int,
    kind: str,
    *,
    target: int,
    started: float,
    due: float,
    next_fire: float,
    state: str = "running",
    warn: float | None = None,
    warned: float | None = None,
    breached: float | None = None,
    level: int = 0,
    escalate: float | None = None,
    period: int | None = None,
) -> tuple[Any, ...]:
    """One timers_timer row in COLUMNS order, times as epoch seconds (UTC)."""
    return (
        subject_type,
        subject_id,
        kind,
        state,
        None,
        target,
        started,
        due,
        warn,
        warned,
        None,
        None,
        None,
        breached,
        level,
        period or target,
        escalate,
        next_fire,
        0,
        "",
        started,
    )


def pending_rows(n: int, now: float, seed: str) -> Iterator[tuple[Any, ...]]:
    """n timers a busy business would hold, each firing 1 hour to 7 days from now.

    About 80% are running (70% of them with the 75% warning still to come, so
    their next event is the warning), 20% are breached and wait for the next
    escalation. Three timers per case; nothing is due for an hour.
    """
    rng = random.Random(seed)
    for i in range(n):
        fire = now + HOUR + rng.random() * (7 * DAY - HOUR)
        target = TARGETS[rng.randrange(len(TARGETS))]
        kind = CASE_KINDS[rng.randrange(len(CASE_KINDS))]
        case_id = i // 3 + 1
        if rng.random() < 0.8:
            warn_first = rng.random() < 0.7
            if warn_first:
                warn = fire
                started = warn - 0.75 * target
                due = started + target
                yield _row(
                    "case",
                    case_id,
                    kind,
                    target=target,
                    started=started,
                    due=due,
                    warn=warn,
                    next_fire=warn,
                )
            else:  # started without a warning
                yield _row(
                    "case",
                    case_id,
                    kind,
                    target=target,
                    started=fire - target,
                    due=fire,
                    next_fire=fire,
                )
        else:
            level = 1 + rng.randrange(2)
            due = fire - level * target
            yield _row(
                "case",
                case_id,
                kind,
                state="breached",
                target=target,
                started=due - target,
                due=due,
                breached=due,
                level=level,
                escalate=fire,
                next_fire=fire,
            )


def bench_row(kind: str, subject_id: int, due: float) -> tuple[Any, ...]:
    """A timer of subject type "bench": no handler is registered for it, so firing it
    measures the engine alone. After its breach the next escalation is a day away."""
    return _row(
        "bench",
        subject_id,
        kind,
        target=60,
        started=due - 60,
        due=due,
        next_fire=due,
        period=int(DAY),
    )


def _naive(epoch: float) -> dt.datetime:
    return UNIX + dt.timedelta(seconds=epoch)


# ---------------------------------------------------------------- the database, from outside


class Store:
    """The bench's own driver connection to the database under test (no Django)."""

    def __init__(self, kind: str, env: dict[str, str], admin_url: str):
        self.kind = kind
        # Our own PostgreSQL backends, left out of every CPU figure.
        self.own_pids: set[int] = set()
        if kind == "sqlite":
            self.path = Path(env["BOUNCEBACK_DATA_DIR"]) / "bounceback.sqlite3"
            self.conn: Any = sqlite3.connect(self.path, isolation_level=None, timeout=20)
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            self.conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
            self.dbname = self.conn.info.dbname
            # Monitoring queries go through the admin database, so the bench database's
            # own statistics (pg_stat_database) count only what the worker does.
            self.monitor = psycopg.connect(admin_url, autocommit=True)
            for c in (self.conn, self.monitor):
                self.own_pids.add(c.execute("SELECT pg_backend_pid()").fetchone()[0])
        self._seen: set[int] = set()
        self._low = 0

    def close(self) -> None:
        for c in (self.conn, getattr(self, "monitor", None)):
            with contextlib.suppress(Exception):
                if c is not None:
                    c.close()

    def ts(self, epoch: float | None) -> str | None:
        if epoch is None:
            return None
        text = _naive(epoch).isoformat(" ", "microseconds")
        return text if self.kind == "sqlite" else text + "+00"

    def install_probe(self) -> None:
        """A side table and a trigger that stamp each "bench" timer's breach when written."""
        if self.kind == "sqlite":
            self.conn.executescript(
                """
                CREATE TABLE bench_fired (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    timer_id INTEGER NOT NULL, kind TEXT NOT NULL,
                    fired_at REAL NOT NULL, due_at TEXT NOT NULL);
                CREATE TRIGGER bench_fired_tr AFTER UPDATE OF state ON timers_timer
                FOR EACH ROW WHEN OLD.state = 'running' AND NEW.state = 'breached'
                    AND NEW.subject_type = 'bench'
                BEGIN
                    INSERT INTO bench_fired (timer_id, kind, fired_at, due_at)
                    VALUES (NEW.id, NEW.kind, (julianday('now') - 2440587.5) * 86400.0,
                            NEW.due_at);
                END;
                """
            )
        else:
            self.conn.execute(
                """
                CREATE TABLE bench_fired (
                    seq bigserial PRIMARY KEY, timer_id bigint NOT NULL, kind text NOT NULL,
                    fired_at timestamptz NOT NULL, due_at timestamptz NOT NULL)
                """
            )
            self.conn.execute(
                """
                CREATE FUNCTION bench_fired_fn() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO bench_fired (timer_id, kind, fired_at, due_at)
                    VALUES (NEW.id, NEW.kind, clock_timestamp(), NEW.due_at);
                    RETURN NULL;
                END $$
                """
            )
            self.conn.execute(
                """
                CREATE TRIGGER bench_fired_tr AFTER UPDATE OF state ON timers_timer
                FOR EACH ROW WHEN (OLD.state = 'running' AND NEW.state = 'breached'
                                   AND NEW.subject_type = 'bench')
                EXECUTE FUNCTION bench_fired_fn()
                """
            )

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows in one transaction: executemany on SQLite, COPY on PostgreSQL."""
        if not rows:
            return
        if self.kind == "sqlite":
            marks = ",".join("?" * len(COLUMNS))
            sql = f"INSERT INTO timers_timer ({','.join(COLUMNS)}) VALUES ({marks})"
            conv = [
                tuple(self.ts(v) if i in TIME_COLUMNS else v for i, v in enumerate(r)) for r in rows
            ]
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(sql, conv)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                self._copy(cur, rows)

    def _copy(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        lines = []
        for r in rows:
            fields = []
            for i, v in enumerate(r):
                if v is None:
                    fields.append("\\N")
                elif i in TIME_COLUMNS:
                    fields.append(_naive(v).isoformat(" ", "microseconds") + "+00")
                else:
                    fields.append(str(v))
            lines.append("\t".join(fields))
        with cur.copy(f"COPY timers_timer ({','.join(COLUMNS)}) FROM STDIN") as cp:
            cp.write("\n".join(lines) + "\n")

    def load_pending(self, n: int, now: float, seed: str, chunk: int = 50_000) -> dict[str, Any]:
        """The n pending timers, in one transaction, timed."""
        gen = pending_rows(n, now, seed)
        started = time.perf_counter()
        if self.kind == "sqlite":
            marks = ",".join("?" * len(COLUMNS))
            sql = f"INSERT INTO timers_timer ({','.join(COLUMNS)}) VALUES ({marks})"
            self.conn.execute("BEGIN IMMEDIATE")
            done = 0
            while done < n:
                part = [
                    tuple(self.ts(v) if i in TIME_COLUMNS else v for i, v in enumerate(r))
                    for r in (next(gen) for _ in range(min(chunk, n - done)))
                ]
                self.conn.executemany(sql, part)
                done += len(part)
            self.conn.execute("COMMIT")
            how = "executemany, 1 transaction"
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                done = 0
                while done < n:
                    part = [next(gen) for _ in range(min(chunk, n - done))]
                    self._copy(cur, part)
                    done += len(part)
            how = "COPY, 1 transaction"
        took = time.perf_counter() - started
        return {"rows": n, "s": round(took, 2), "rows_per_s": round(n / took), "how": how}

    def maintain(self) -> dict[str, Any]:
        """PostgreSQL: VACUUM ANALYZE (what autovacuum would do after a load) and a
        CHECKPOINT, so neither lands inside a measurement. SQLite: nothing (the product
        never runs ANALYZE there) besides a WAL checkpoint."""
        started = time.perf_counter()
        if self.kind == "sqlite":
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            what = "PRAGMA wal_checkpoint(TRUNCATE)"
        else:
            self.conn.execute("VACUUM (ANALYZE) timers_timer")
            self.conn.execute("CHECKPOINT")
            what = "VACUUM (ANALYZE) timers_timer; CHECKPOINT"
        return {"what": what, "s": round(time.perf_counter() - started, 2)}

    def counts(self) -> dict[str, int]:
        pending = self.conn.execute(
            "SELECT count(*) FROM timers_timer WHERE next_fire_at IS NOT NULL"
        ).fetchone()[0]
        total = self.conn.execute("SELECT count(*) FROM timers_timer").fetchone()[0]
        return {"timers": int(total), "pending": int(pending)}

    def fired_since(self) -> list[tuple[int, str, float, float]]:
        """New bench_fired rows: (timer id, kind, fired epoch, due epoch). Reads from the
        lowest sequence number not yet seen, so a commit out of order is not missed."""
        cur = self.conn.execute(
            "SELECT seq, timer_id, kind, fired_at, due_at FROM bench_fired "
            + (
                "WHERE seq > ? ORDER BY seq"
                if self.kind == "sqlite"
                else "WHERE seq > %s ORDER BY seq"
            ),
            (self._low,),
        )
        out = []
        for seq, timer_id, kind, fired, due in cur.fetchall():
            if seq in self._seen:
                continue
            self._seen.add(seq)
            if self.kind == "sqlite":
                due_epoch = dt.datetime.fromisoformat(due).replace(tzinfo=dt.UTC).timestamp()
                out.append((timer_id, kind, float(fired), due_epoch))
            else:
                out.append((timer_id, kind, fired.timestamp(), due.timestamp()))
        while self._low + 1 in self._seen:
            self._low += 1
        return out

    def backend_pids(self) -> set[int]:
        """PostgreSQL backends connected to the bench database, other than our own."""
        if self.kind != "postgresql":
            return set()
        rows = self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.dbname,)
        ).fetchall()
        return {r[0] for r in rows} - self.own_pids

    def db_stats(self) -> dict[str, int] | None:
        """PostgreSQL counters: transactions in the bench database, and the scans of
        timers_timer (does each poll probe the index, or read rows?)."""
        if self.kind != "postgresql":
            return None
        # Backends flush their counters when idle, at most every 10 s or so: over a
        # minute the rate is close, not exact.
        xacts = self.monitor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (self.dbname,),
        ).fetchone()[0]
        row = self.conn.execute(
            "SELECT idx_scan, seq_scan, idx_tup_fetch + seq_tup_read FROM pg_stat_user_tables "
            "WHERE relname = 'timers_timer'"
        ).fetchone()
        return {
            "xacts": int(xacts),
            "timer_idx_scans": int(row[0] or 0),
            "timer_seq_scans": int(row[1] or 0),
            "timer_rows_read": int(row[2] or 0),
        }

    def settings(self) -> dict[str, str]:
        if self.kind != "postgresql":
            return {}
        out = {}
        for name in ("autovacuum", "shared_buffers", "jit", "synchronous_commit"):
            out[name] = self.conn.execute(f"SHOW {name}").fetchone()[0]
        return out


# ---------------------------------------------------------------- the worker


class Worker(harness.Service):
    """`bounceback worker`, the real process: the task loop and the clock thread."""

    def __init__(self, db: harness.Database, logdir: Path, label: str, clock: bool = True):
        super().__init__(logdir / f"worker-{db.kind}-{label}.log")
        self.db = db
        self.clock = clock

    def start(self) -> None:
        # The production default log level, so the log shows what each tick fired.
        self.spawn(
            [
                str(Path(PY).parent / "bounceback"),
                "worker",
                *([] if self.clock else ["--no-clock"]),
            ],
            dict(self.db.env, LOG_LEVEL="INFO"),
        )

    def wait_loop_started(self, limit_s: float = 90) -> float:
        """Wait for the task loop's "Starting worker" log line (for a worker with no clock)."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            if "Starting worker" in self.log_text():
                return time.monotonic() - started
            if not self.alive():
                raise SystemExit(f"the worker exited; see {self.log_path}")
            time.sleep(0.1)
        raise SystemExit(f"the worker did not start in {limit_s:.0f} s; see {self.log_path}")

    def stop(self) -> dict[str, Any]:
        code, text = self.terminate()
        return {"exit": code, "tracebacks": text.count("Traceback (most recent call last)")}


def wait_first_tick(store: Store, worker: Worker, probe_id: int, limit_s: float = 90) -> float:
    """Put one bench timer due now and wait until the worker's clock fires it."""
    store.insert([bench_row("probe", probe_id, time.time())])
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if any(kind == "probe" for _, kind, _, _ in store.fired_since()):
            return time.monotonic() - started
        if not worker.alive():
            raise SystemExit(f"the worker exited; see {worker.log_path}")
        time.sleep(0.05)
    raise SystemExit(f"the worker's clock fired nothing in {limit_s:.0f} s; see {worker.log_path}")


def measure_idle(store: Store, worker: Worker, seconds: float) -> dict[str, Any]:
    """CPU of the worker (and of the database server) while nothing is due."""
    stats0 = store.db_stats()
    tracker = procstat.Tracker()
    tracker.tag("pg_db", store.backend_pids())
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        tracker.tag("pg_db", store.backend_pids())
        tracker.sample()
    out = tracker.result(worker.pid, bench_pid=os.getpid(), exclude=store.own_pids)
    stats1 = store.db_stats()
    if stats0 and stats1:
        wall = out["window_s"]
        out["db_per_s"] = {k: round((stats1[k] - stats0[k]) / wall, 1) for k in stats0}
    if not worker.alive():
        raise SystemExit(f"the worker exited during the idle measurement; see {worker.log_path}")
    return out


def measure_stream(
    store: Store, worker: Worker, rate: float, seconds: float, observe_s: float
) -> dict[str, Any]:
    """Timers falling due at `rate` per second for `seconds`: how late each one fires."""
    n = max(1, int(rate * seconds))
    lead = 2.0
    t0 = time.time() + lead
    rows = [bench_row("stream", i, t0 + i / rate) for i in range(n)]
    store.insert(rows)
    while time.time() < t0:
        time.sleep(0.01)
    tracker = procstat.Tracker()
    tracker.tag("pg_db", store.backend_pids())
    written: list[float] = []
    visible: list[float] = []
    polls = 0
    next_sample = time.monotonic() + 1.0
    deadline = time.monotonic() + seconds + 15.0
    while len(written) < n and time.monotonic() < deadline:
        polls += 1
        got = store.fired_since()
        seen = time.time()
        for _, kind, fired, due in got:
            if kind == "stream":
                written.append(fired - due)
                visible.append(seen - due)
        if time.monotonic() >= next_sample:
            tracker.tag("pg_db", store.backend_pids())
            tracker.sample()
            next_sample += 1.0
        if not worker.alive():
            raise SystemExit(f"the worker exited during the stream; see {worker.log_path}")
        time.sleep(observe_s)
    cpu = tracker.result(worker.pid, bench_pid=os.getpid(), exclude=store.own_pids)
    missed = n - len(written)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "expected": n,
        "fired": len(written),
        "missed": missed,
        "polls": polls,
        "observe_ms": round(observe_s * 1000),
        "lateness_written": latency_summary(written, digits=1),
        "lateness_visible": latency_summary(visible, digits=1),
        # A timer that never fired counts as infinitely late in the goal.
        "p99_visible_with_missed_s": (
            None
            if not visible
            else (
                percentile(sorted(visible) + [float("inf")] * missed, 99)
                if missed
                else percentile(sorted(visible), 99)
            )
        ),
        "cpu": cpu,
    }


# ---------------------------------------------------------------- in-process (Django) helpers


def costs_main(reps: int) -> None:
    """`timers.py _costs REPS`: what one idle poll costs, measured inside one process."""
    harness.setup_django()
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext

    from bounceback.background.deliveries import lane_claim
    from bounceback.outbox.services import OUTBOX_LANE
    from bounceback.timers.clock import DEFAULT_INTERVAL, clock_tick
    from bounceback.timers.services import timers_fire_due

    def us(vals: list[float]) -> float:
        return round(statistics.median(vals) * 1e6, 1)

    close_old_connections()
    clock_tick()  # warm: imports, first connection
    close_old_connections()
    with CaptureQueriesContext(connection) as cq:
        result = clock_tick()
    statements = [q["sql"] for q in cq.captured_queries]
    claim = next(
        s for s in statements if '"timers_timer"' in s and "next_fire_at" in s and "SELECT" in s
    )

    def timed(fn: Any) -> tuple[list[float], list[float]]:
        walls, cpus = [], []
        for _ in range(reps):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        return walls, cpus

    def upkeep() -> None:
        # What the loop does before each tick: drop an obsolete connection (on SQLite,
        # CONN_MAX_AGE=0, that is every time), then reconnect / health-check on first use.
        close_old_connections()
        connection.cursor().close()

    def one_pass() -> None:
        close_old_connections()
        clock_tick()

    # 1. One whole pass as the clock loop makes it, twice a second, and its parts.
    walls, cpus = timed(one_pass)
    parts = {}
    for name, fn in (
        ("connection_upkeep", upkeep),
        ("timers_fire_due", timers_fire_due),
        ("outbox_claim", lambda: lane_claim(OUTBOX_LANE)),
    ):
        w, c = timed(fn)
        parts[name] = {"wall_us": us(w), "cpu_us": round(sum(c) / reps * 1e6, 1)}

    # 2. The bare claim query through the driver, in a transaction like the engine's.
    connection.ensure_connection()
    raw = connection.connection
    sqlite = connection.vendor == "sqlite"
    begin = "BEGIN IMMEDIATE" if sqlite else "BEGIN"
    cur = raw.cursor()
    bare_walls, bare_cpus = [], []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        cur.execute(begin)
        cur.execute(claim)
        cur.fetchall()
        cur.execute("ROLLBACK")
        bare_walls.append(time.perf_counter() - w0)
        bare_cpus.append(time.process_time() - c0)

    # 3. Its plan.
    if sqlite:
        cur.execute("EXPLAIN QUERY PLAN " + claim)
        plan = [str(r[-1]) for r in cur.fetchall()]
    else:
        cur.execute("BEGIN")
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) " + claim)
        plan = [str(r[0]) for r in cur.fetchall()]
        cur.execute("ROLLBACK")
    plan_text = "\n".join(plan)

    out = {
        "vendor": connection.vendor,
        "clock_interval_s": DEFAULT_INTERVAL,
        "reps": reps,
        "tick_result": result,
        "statements_per_tick": len(statements),
        "statements": statements,
        "claim_sql": claim,
        "pass_wall_us": us(walls),
        "pass_cpu_us": round(sum(cpus) / reps * 1e6, 1),
        "pass_parts": parts,
        "bare_claim_wall_us": us(bare_walls),
        "bare_claim_cpu_us": round(sum(bare_cpus) / reps * 1e6, 1),
        "plan": plan,
        "index_used": "timer_next_fire_idx" in plan_text,
        "full_scan": ("Seq Scan on timers_timer" in plan_text)
        or any(p.startswith("SCAN timers_timer") for p in plan),
    }
    print(json.dumps(out))


# ---------------------------------------------------------------- one database


def bench_timers(
    db: harness.Database, store: Store, cfg: Config, logdir: Path, run_id: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"db_settings": store.settings()}
    store.install_probe()
    settle = cfg.float("BENCH_TIMERS_SETTLE_S")
    probe = iter(range(1, 1000))

    empty_s = cfg.float("BENCH_TIMERS_IDLE_EMPTY_S")
    if empty_s > 0:
        worker = Worker(db, logdir, "empty")
        worker.start()
        try:
            first = wait_first_tick(store, worker, next(probe))
            log(f"worker up, first timer fired after {first:.1f} s; idle {empty_s:.0f} s, empty")
            time.sleep(settle)
            out["idle_empty"] = measure_idle(store, worker, empty_s)
            out["idle_empty"]["counts"] = store.counts()
        finally:
            out["worker_empty"] = worker.stop()
        log(f"idle, empty: worker {out['idle_empty']['worker_cores'] * 100:.2f}% of a core")
        # The same worker without its clock thread: what the task loop alone costs.
        worker = Worker(db, logdir, "no-clock", clock=False)
        worker.start()
        try:
            first = worker.wait_loop_started()
            log(f"worker --no-clock up after {first:.1f} s; idle {empty_s:.0f} s, empty")
            time.sleep(settle)
            out["idle_no_clock"] = measure_idle(store, worker, empty_s)
        finally:
            out["worker_no_clock"] = worker.stop()
        log(f"idle, --no-clock: worker {out['idle_no_clock']['worker_cores'] * 100:.2f}% of a core")

    n = cfg.int("BENCH_TIMERS_PENDING")
    log(f"loading {n:,} pending timers")
    out["load"] = store.load_pending(n, time.time(), seed=run_id)
    out["load"]["maintenance"] = store.maintain()
    out["load"]["counts"] = store.counts()
    log(
        f"loaded {n:,} in {out['load']['s']} s ({out['load']['rows_per_s']:,} rows/s, "
        f"{out['load']['how']}); {out['load']['maintenance']['what']} "
        f"{out['load']['maintenance']['s']} s"
    )

    out["costs"] = harness.run_json(
        [PY, str(Path(__file__).resolve()), "_costs", cfg.str("BENCH_TIMERS_REPS")],
        db.env,
        600,
        f"in-process costs ({db.kind})",
    )
    c = out["costs"]
    log(
        f"claim query bare {c['bare_claim_wall_us']} us, whole idle pass "
        f"{c['pass_wall_us']} us wall / {c['pass_cpu_us']} us CPU, "
        f"{c['statements_per_tick']} statements, index used: {c['index_used']}"
    )

    out["quiet"] = harness.wait_quiet(cfg)
    worker = Worker(db, logdir, "loaded")
    worker.start()
    try:
        first = wait_first_tick(store, worker, next(probe))
        idle_s = cfg.float("BENCH_TIMERS_IDLE_S")
        log(f"worker up, first timer fired after {first:.1f} s; idle {idle_s:.0f} s, {n:,} pending")
        time.sleep(settle)
        out["idle"] = measure_idle(store, worker, idle_s)
        i = out["idle"]
        log(
            f"idle, {n:,} pending: worker {i['worker_cores'] * 100:.2f}% of a core, "
            f"postgres (this db) {i['pg_db_cores'] * 100:.2f}%, all postgres "
            f"{i['pg_all_cores'] * 100:.2f}%"
        )
        rate, secs = cfg.float("BENCH_TIMERS_RATE"), cfg.float("BENCH_TIMERS_STREAM_S")
        log(f"stream: {rate:g}/s falling due for {secs:.0f} s")
        out["stream"] = measure_stream(
            store, worker, rate, secs, cfg.float("BENCH_TIMERS_OBSERVE_MS") / 1000.0
        )
        s = out["stream"]
        log(
            f"stream: {s['fired']}/{s['expected']} fired; lateness p50 "
            f"{s['lateness_visible'].get('p50_ms')} ms, p99 {s['lateness_visible'].get('p99_ms')}"
            f" ms, max {s['lateness_visible'].get('max_ms')} ms (seen); worker "
            f"{s['cpu']['worker_cores'] * 100:.1f}% of a core"
        )
    finally:
        out["worker"] = worker.stop()
    return out


def bench_cases(db: harness.Database, cfg: Config, run: harness.Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    setup_path = run.workdir / f"setup-cases-{db.kind}.json"
    setup, took = harness.run_setup(
        [
            PY,
            str(HERE / "setup_db.py"),
            cfg.str("BENCH_CASES_CUSTOMERS"),
            str(setup_path),
            "--cases-token",
        ],
        db.env,
        setup_path,
    )
    out["setup"] = {"customers": len(setup["customers"]), "s": took}
    server = harness.Server(db, cfg, run.logs)
    try:
        server.start(setup["token"])
        out["quiet"] = harness.wait_quiet(cfg)
        cap = cfg.float("BENCH_TIME_CAP")
        n, conc, warm = (
            cfg.str("BENCH_CASES"),
            cfg.str("BENCH_CASES_CONC"),
            cfg.str("BENCH_CASES_WARMUP"),
        )
        for key, mode, extra in (
            ("transactions", "single", []),
            ("cases", "cases", ["--token-key", "cases_token"]),
        ):
            log(f"{key}: {n} POSTs at c={conc}")
            res = harness.run_json(
                [
                    *server.loadgen(mode, setup_path, run.id, cap),
                    *("-n", n, "-c", conc, "--warmup", warm),
                    *("--phase", f"c-{key}", *extra),
                ],
                db.env,
                cap + 600,
                f"{key} load ({db.kind})",
            )
            out[key] = res
            log(
                f"{key}: {res['req_per_s']} req/s, p50 {res['latency_ok'].get('p50_ms')} ms, "
                f"p99 {res['latency_ok'].get('p99_ms')} ms, errors {res['errors']}"
            )
    finally:
        out["server_log"] = server.stop()
    return out


def bench_database(kind: str, cfg: Config, parts: set[str], run: harness.Run) -> dict[str, Any]:
    db = harness.Database(
        kind, cfg, run.workdir, pg_db=cfg.str("BENCH_TIMERS_PG_DB"), **harness.served_env()
    )
    out: dict[str, Any] = {"db": kind, "version": db.version()}
    log(f"==== {kind}: {out['version']} ====")
    with db:
        out["migrate"] = harness.migrate(db, run.logs)
        log(f"{out['migrate']['command']}: {out['migrate']['s']} s")
        store = Store(kind, db.env, cfg.str("BENCH_PG_ADMIN_URL"))
        try:
            if "timers" in parts:
                out["timers"] = bench_timers(db, store, cfg, run.logs, run.id)
            if "cases" in parts:
                out["cases"] = bench_cases(db, cfg, run)
        finally:
            store.close()
    return out


# ---------------------------------------------------------------- report


def pct(cores: float | None) -> str:
    return "-" if cores is None else f"{cores * 100:.2f}%"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def div(d: dict[str, Any], a: str, b: str, nd: int) -> str:
    return f"{d[a] / d[b]:.{nd}f}"


def t_empty(d: dict[str, Any]) -> float:
    return d["timers"]["idle_empty"]["worker_cores"]


def idle_db_work(per_s: dict[str, float]) -> str:
    """Per second: transactions, index probes of timers_timer, its sequential scans, the
    timer rows those read (from pg_stat_database and pg_stat_user_tables)."""
    keys = ("xacts", "timer_idx_scans", "timer_seq_scans", "timer_rows_read")
    return " / ".join(fmt(float(per_s[k]), 1) for k in keys)


def report(results: dict[str, Any], cfg: Config) -> tuple[str, list[dict[str, Any]]]:
    table = harness.Table(results["databases"])
    dbs, data, row, pp = table.dbs, table.data, table.row, harness.p50_p99
    verdicts: list[dict[str, Any]] = []

    def lat(s: dict[str, Any]) -> str:
        if not s or not s.get("n"):
            return "-"
        return f"{fmt(s['p50_ms'], 0)} / {fmt(s['p99_ms'], 0)} / {fmt(s['max_ms'], 0)}"

    n = cfg.int("BENCH_TIMERS_PENDING")
    if table.has("timers"):
        rate, secs = cfg.float("BENCH_TIMERS_RATE"), cfg.float("BENCH_TIMERS_STREAM_S")
        row(
            f"T  load {fmt(n)} pending timers (driver, not the API)",
            "s (rows/s)",
            lambda d: f"{d['timers']['load']['s']} ({fmt(d['timers']['load']['rows_per_s'])})",
        )
        row(
            "   baseline: bare claim query via driver",
            "median us",
            lambda d: fmt(d["timers"]["costs"]["bare_claim_wall_us"], 0),
        )
        row(
            "   claim query plan uses timer_next_fire_idx",
            "",
            lambda d: (
                "yes"
                if d["timers"]["costs"]["index_used"]
                else ("NO, full scan" if d["timers"]["costs"]["full_scan"] else "no")
            ),
        )
        row(
            "   one idle clock pass in-process (ORM)",
            "us wall / CPU",
            lambda d: (
                f"{fmt(d['timers']['costs']['pass_wall_us'], 0)} / "
                f"{fmt(d['timers']['costs']['pass_cpu_us'], 0)}"
            ),
        )
        row(
            "     of which connection upkeep / timers / outbox",
            "us CPU",
            lambda d: " / ".join(
                fmt(d["timers"]["costs"]["pass_parts"][k]["cpu_us"], 0)
                for k in ("connection_upkeep", "timers_fire_due", "outbox_claim")
            ),
        )
        row(
            "   SQL statements per idle pass",
            "",
            lambda d: fmt(d["timers"]["costs"]["statements_per_tick"]),
        )
        row(
            "   ratio pass / bare claim (wall)",
            "x",
            lambda d: div(d["timers"]["costs"], "pass_wall_us", "bare_claim_wall_us", 1),
        )
        row(
            "   baseline: idle worker, no timers",
            "% of a core",
            lambda d: pct(d["timers"]["idle_empty"]["worker_cores"]),
        )

        def idle_goal(d: dict[str, Any]) -> str:
            v = d["timers"]["idle"]["worker_cores"]
            ok = v < GOAL_IDLE_CORES
            verdicts.append({"db": d["db"], "goal": "idle_worker_cpu", "value": v, "pass": ok})
            return f"{pct(v)} {verdict(ok)}"

        row(
            "   baseline: its task loop alone (--no-clock)",
            "% of a core",
            lambda d: pct(d["timers"]["idle_no_clock"]["worker_cores"]),
        )
        row(f"   idle worker, {fmt(n)} pending (goal < 2%)", "% of a core", idle_goal)
        row(
            "   ratio idle 1M / idle empty",
            "x",
            lambda d: f"{d['timers']['idle']['worker_cores'] / t_empty(d):.2f}",
        )
        row(
            "   DB server in that idle window: this DB / all PG",
            "% of a core",
            lambda d: (
                "in-process"
                if d["db"] == "sqlite"
                else f"{pct(d['timers']['idle']['pg_db_cores'])} / "
                f"{pct(d['timers']['idle']['pg_all_cores'])}"
            ),
        )
        row(
            "   idle DB: xacts / timer index probes / seq scans / rows",
            "per s",
            lambda d: idle_db_work(d["timers"]["idle"]["db_per_s"]),
        )
        row(
            f"S  stream {rate:g}/s for {secs:g} s: fired / expected",
            "",
            lambda d: (
                f"{fmt(d['timers']['stream']['fired'])} / {fmt(d['timers']['stream']['expected'])}"
            ),
        )

        def late_goal(d: dict[str, Any]) -> str:
            s = d["timers"]["stream"]
            p99 = s["p99_visible_with_missed_s"]
            ok = p99 is not None and p99 < GOAL_P99_S
            verdicts.append({"db": d["db"], "goal": "lateness_p99", "value": p99, "pass": ok})
            return f"{lat(s['lateness_visible'])} {verdict(ok)}"

        row("   lateness, committed (goal p99 < 1 s)", "p50/p99/max ms", late_goal)
        row(
            "   floor: a poll every interval, uniform wait",
            "p50/p99 ms",
            lambda d: (
                f"{d['timers']['costs']['clock_interval_s'] * 500:.0f} / "
                f"{d['timers']['costs']['clock_interval_s'] * 990:.0f}"
            ),
        )
        row(
            "   lateness, row written by the engine",
            "p50/p99/max ms",
            lambda d: lat(d["timers"]["stream"]["lateness_written"]),
        )
        row(
            "   worker / DB server during the stream",
            "% of a core",
            lambda d: (
                f"{pct(d['timers']['stream']['cpu']['worker_cores'])} / "
                + (
                    "in-process"
                    if d["db"] == "sqlite"
                    else pct(d["timers"]["stream"]["cpu"]["pg_db_cores"])
                )
            ),
        )
        row(
            "   other processes' CPU: idle / stream",
            "cores",
            lambda d: (
                f"{d['timers']['idle']['other_cores']:.2f} / "
                f"{d['timers']['stream']['cpu']['other_cores']:.2f}"
            ),
        )
    peer = results.get("peer_published") or {}
    if table.has("cases"):
        conc = cfg.str("BENCH_CASES_CONC")

        def rate(label: str, key: str) -> None:
            row(label, "req/s", lambda d: fmt(d["cases"][key]["req_per_s"], 1))
            row("", "p50 / p99 ms", lambda d: pp(d["cases"][key]["latency_ok"]))

        rate(f"C  POST /api/cases/ ({fmt(cfg.int('BENCH_CASES'))} @ c={conc})", "cases")
        row(
            "",
            "errors / requests",
            lambda d: f"{d['cases']['cases']['errors']} / {d['cases']['cases']['requests']}",
        )
        row("", "cores: server / postgres", lambda d: harness.cores(d["cases"]["cases"]))
        rate(f"   baseline: POST /api/transactions/ (same server, c={conc})", "transactions")
        row(
            "   ratio case create / transaction create",
            "",
            lambda d: div(
                {
                    "c": d["cases"]["cases"]["req_per_s"],
                    "t": d["cases"]["transactions"]["req_per_s"],
                },
                "c",
                "t",
                2,
            ),
        )
        row(
            "   peer ticket create, PUBLISHED (not measured here)",
            "req/s, p99 ms",
            lambda d: f"{peer[d['db'] + '_req_s']:.1f}, {peer[d['db'] + '_p99_ms']}",
        )
        row(
            "   ratio our case create / peer's published",
            "",
            lambda d: f"{d['cases']['cases']['req_per_s'] / peer[d['db'] + '_req_s']:.2f}",
        )
        measured = results.get("peer_run") or {}

        def peer_create(d: dict[str, Any]) -> dict[str, Any]:
            return dict(measured[d["db"]]["create"])

        if measured and not measured.get("error"):
            row(
                "   peer ticket create, MEASURED in this run (--with-peer)",
                "req/s, p99 ms",
                lambda d: (
                    f"{peer_create(d)['rps']:.1f}, {peer_create(d)['latency_ok'].get('p99_ms')}"
                ),
            )
            row(
                "   ratio our case create / peer's, same run (goal >= 5)",
                "",
                lambda d: f"{d['cases']['cases']['req_per_s'] / peer_create(d)['rps']:.2f}",
            )
        row(
            "   other processes' CPU during cases",
            "cores",
            lambda d: f"{d['cases']['cases']['cpu']['other_cores']:.2f}",
        )

    lines = [
        f"Bounceback timers and cases benchmark - {results['started']} - run took "
        f"{results['run_s']:.0f} s"
        + (" - QUICK (smoke sizes, figures not meaningful)" if results["quick"] else ""),
        f"host: {results['host']} | Python {platform.python_version()} | Django "
        f"{ver('Django')}, gunicorn {ver('gunicorn')} gthread "
        f"({cfg.str('BENCH_WORKERS')}x{cfg.str('BENCH_THREADS')}), psycopg {ver('psycopg')}",
        "databases: " + "; ".join(data[db]["version"] for db in dbs),
        "worker: `bounceback worker` (database task backend; its loop polls every 1 s, the "
        "clock thread every 0.5 s); % of a core = CPU time of its process tree / wall time",
        "",
        *table.lines(),
    ]
    lines.append("")
    lines.append(
        "lateness = moment fired - due_at. 'committed': when this process first saw the fire "
        f"(it polls every {cfg.str('BENCH_TIMERS_OBSERVE_MS')} ms, so up to that much late); "
        "'written': the DB clock when the engine's UPDATE ran (a bench-only trigger). "
        "A timer never fired counts as infinitely late."
    )
    if peer.get("text"):
        lines.append(f"peer (PUBLISHED, {peer.get('source')}): {peer['text']}")
    measured_peer = results.get("peer_run") or {}
    if measured_peer.get("error"):
        lines.append(f"peer run (--with-peer): {measured_peer['error']}")
    if measured_peer.get("warning"):
        lines.append(measured_peer["warning"])
    for d in results["databases"]:
        t = d.get("timers") or {}
        for key, name in (("idle", "idle"), ("stream", "stream")):
            cpu = (t.get(key) or {}).get("cpu", t.get(key) or {})
            note = harness.contamination(d["db"], name, cpu, cfg.float("BENCH_QUIET_THRESHOLD"))
            if note:
                lines.append(note)
        for key in ("cases", "transactions"):
            ph = (d.get("cases") or {}).get(key) or {}
            if ph.get("errors"):
                lines.append(harness.failed_calls(d["db"], key, ph, noun=""))
    lines.append("")
    for goal, text in (
        ("lateness_p99", "GOAL timers fire late by < 1 s at p99"),
        ("idle_worker_cpu", "GOAL an idle worker uses < 2% of a core"),
    ):
        vs = [v for v in verdicts if v["goal"] == goal]
        if vs:
            summary = ", ".join(
                f"{v['db']} "
                + (
                    f"{v['value'] * 1000:.0f} ms"
                    if goal == "lateness_p99" and v["value"] is not None
                    else f"{v['value'] * 100:.2f}%"
                    if v["value"] is not None
                    else "-"
                )
                for v in vs
            )
            ok = all(v["pass"] for v in vs)
            lines.append(f"{text}: {verdict(ok)} ({summary})")
    return "\n".join(lines), verdicts


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_costs":
        costs_main(int(sys.argv[2]))
        return 0
    ap = harness.parser(__doc__, raw=True)
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--no-timers", action="store_true", help="only the case-creation part")
    part.add_argument("--no-cases", action="store_true", help="only the timer part")
    ap.add_argument(
        "--with-peer",
        action="store_true",
        help="also run the peer's harness (about 15 minutes) and compare case creation",
    )
    harness.add_outputs(ap)
    args = ap.parse_args()

    cfg = Config(args.quick, CONFIG)
    parts = {"timers", "cases"} - ({"timers"} if args.no_timers else set())
    parts -= {"cases"} if args.no_cases else set()
    run = harness.Run(
        "timers", results_dir=args.results_dir, keep=cfg.keep, logs=True, id_prefix="t"
    )
    with run:
        results: dict[str, Any] = {
            **run.header(cfg, args.quick),
            "parts": sorted(parts),
            "goals": {"lateness_p99_s": GOAL_P99_S, "idle_worker_cores": GOAL_IDLE_CORES},
            "databases": [],
            "peer_published": harness.peer_published(),
        }
        for kind in harness.databases(args):
            results["databases"].append(bench_database(kind, cfg, parts, run))
        if args.with_peer and "cases" in parts:
            results["peer_run"] = harness.run_peer(run.results_dir, kinds=harness.databases(args))
    results["run_s"] = run.elapsed()
    table, verdicts = report(results, cfg)
    results["verdicts"] = verdicts
    results["table"] = table
    json_path = run.save(results)
    print(table)
    print(f"\nresults: {json_path}  logs: {run.logs}")

    errors = sum(
        (d.get("cases") or {}).get(k, {}).get("errors", 0)
        for d in results["databases"]
        for k in ("cases", "transactions")
    )
    missed = sum(
        (d.get("timers") or {}).get("stream", {}).get("missed", 0) for d in results["databases"]
    )
    if errors or missed:
        print(f"ERROR: {errors} failed API calls, {missed} timers never fired")
        return 1
    if args.strict and any(not v["pass"] for v in verdicts):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
