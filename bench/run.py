"""Bounceback ingest benchmark: `make bench`.

For each database (SQLite in a temporary data directory, PostgreSQL in a fresh
database dropped and created by this run):

  1. migrate, then create sites, customers and an API token (not timed);
  2. start the real server, gunicorn gthread on 127.0.0.1, DEBUG off, the way
     production runs, and warm it up;
  3. single   POST /api/transactions/, one row per call, closed loop at
              concurrency 8: req/s (= rows/s), p50/p99 latency;
  4. bulk     POST /api/transactions/bulk at each batch size (1,000 and 10,000
              items per call by default): rows/s, per-call latency;
  5. re-send  the last bulk rows again with about half of them changed
              (updates and unchanged rows);
  6. raw      right before each API phase, the very same rows written straight
              into the same table of the same database with the driver
              (executemany in one transaction; COPY too on PostgreSQL; one
              commit per row for the single-call comparison), then deleted;

and prints each API rate beside the raw rate with their ratio. The goal of the
ingest issue is bulk >= 25% of raw. Peak resident memory of the server (master
plus workers, VmHWM) is reported too, and the CPU other processes used during
each phase, because a shared 2-core machine can spoil a figure.

usage: .venv/bin/python bench/run.py [--quick] [--sqlite-only | --postgres-only]
                                     [--with-peer] [--strict] [--results-dir DIR]

Sizes and settings are environment variables (defaults in CONFIG below), e.g.
BENCH_SINGLE=2000 BENCH_BULK_ROWS=50000 BENCH_BULK_BATCHES=1000,10000.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import procstat  # noqa: E402

PY = sys.executable
GOAL_BULK_RATIO = 0.25
PEER_DIR = Path(
    os.environ.get("BENCH_PEER_DIR", REPO.parent / "shared" / "bench" / "peer-helpdesk")
)

# name: (default, --quick default, help)
CONFIG: dict[str, tuple[str, str, str]] = {
    "BENCH_CUSTOMERS": ("1000", "20", "customers created before the run"),
    "BENCH_SINGLE": ("2000", "40", "single POSTs measured"),
    "BENCH_SINGLE_CONC": ("8", "4", "concurrent connections for single POSTs"),
    "BENCH_SINGLE_WARMUP": ("48", "8", "unmeasured single POSTs first"),
    "BENCH_BULK_ROWS": ("50000", "400", "rows sent at each bulk batch size"),
    "BENCH_BULK_BATCHES": ("1000,10000", "50,200", "items per bulk call, comma separated"),
    "BENCH_BULK_CONC": ("2", "2", "concurrent connections for bulk calls"),
    "BENCH_RESEND": ("1", "1", "1: re-send the last bulk rows with ~half changed"),
    "BENCH_RAW_REPS": ("3", "1", "raw executemany repetitions (median)"),
    "BENCH_ROW_COMMIT": ("500", "20", "rows for the one-commit-per-row raw rate"),
    "BENCH_TIME_CAP": ("150", "60", "seconds before a phase stops sending"),
    "BENCH_WORKERS": ("2", "1", "gunicorn workers"),
    "BENCH_THREADS": ("4", "4", "threads per gunicorn worker"),
    "BENCH_QUIET_WAIT": ("120", "0", "seconds to wait for a quiet machine per database"),
    "BENCH_QUIET_THRESHOLD": ("0.25", "0.25", "cores other processes may use to count as quiet"),
    "BENCH_PG_ADMIN_URL": (
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "PostgreSQL URL used to drop/create the bench database",
    ),
    "BENCH_PG_DB": ("bounceback_bench", "bounceback_bench", "database the run creates"),
    "BENCH_KEEP": ("0", "0", "1: keep the temporary data dirs and the PostgreSQL database"),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Config:
    def __init__(self, quick: bool, table: dict[str, tuple[str, str, str]] | None = None):
        self.values: dict[str, str] = {}
        for name, (default, quick_default, _) in (table or CONFIG).items():
            self.values[name] = os.environ.get(name, quick_default if quick else default)

    def int(self, name: str) -> int:
        return int(self.values[name])

    def float(self, name: str) -> float:
        return float(self.values[name])

    def str(self, name: str) -> str:
        return self.values[name]

    def batches(self) -> list[int]:
        return [int(b) for b in self.str("BENCH_BULK_BATCHES").split(",") if b.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ver(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "-"


def run_json(cmd: list[str], env: dict[str, str], timeout: float, what: str) -> dict[str, Any]:
    proc = subprocess.run(
        cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{what} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Database:
    """One database under test: its environment and its creation/removal."""

    def __init__(self, kind: str, cfg: Config, workdir: Path, pg_db: str | None = None):
        self.kind = kind
        self.cfg = cfg
        self.pg_db = pg_db or cfg.str("BENCH_PG_DB")
        self.data_dir = workdir / kind
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.pop("DATABASE_URL", None)
        self.env.update(
            BOUNCEBACK_DATA_DIR=str(self.data_dir),
            DJANGO_SETTINGS_MODULE="bounceback.config.settings",
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECRET_KEY=secrets.token_urlsafe(48),
            LOG_LEVEL="WARNING",
            # The benchmark states the backend it measures instead of inheriting
            # whatever the caller's shell (or a CI pass) happens to set.
            BOUNCEBACK_TASK_BACKEND=os.environ.get("BENCH_TASK_BACKEND", "database"),
            PYTHONDONTWRITEBYTECODE="1",
            # this checkout's code, even if the venv's editable install points elsewhere
            PYTHONPATH=os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
            ),
        )
        if kind == "postgresql":
            admin = cfg.str("BENCH_PG_ADMIN_URL")
            self.env["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + self.pg_db

    def create(self) -> None:
        if self.kind != "postgresql":
            return
        import psycopg

        name = self.pg_db
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise SystemExit(f"BENCH_PG_DB must be a plain lower-case name, not {name!r}")
        with psycopg.connect(self.cfg.str("BENCH_PG_ADMIN_URL"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")

    def drop(self) -> None:
        if self.kind != "postgresql" or self.cfg.str("BENCH_KEEP") == "1":
            return
        import psycopg

        with psycopg.connect(self.cfg.str("BENCH_PG_ADMIN_URL"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")

    def version(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
        try:
            import psycopg

            with psycopg.connect(self.cfg.str("BENCH_PG_ADMIN_URL")) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return f"PostgreSQL {row[0].split()[0] if row else '?'} on 127.0.0.1"
        except Exception as exc:  # informational only
            return f"PostgreSQL ? ({type(exc).__name__})"


def migrate_cmd() -> tuple[list[str], str]:
    """`bounceback migrate` once the CLI exists, else manage.py migrate."""
    cli = Path(PY).parent / "bounceback"
    has_cli = (REPO / "bounceback" / "cli.py").exists() and cli.exists()
    if has_cli:
        return [str(cli), "migrate"], "bounceback migrate"
    return [PY, str(REPO / "manage.py"), "migrate", "--noinput", "-v0"], "manage.py migrate"


class Server:
    """gunicorn serving bounceback.config.wsgi on a free loopback port."""

    def __init__(self, db: Database, cfg: Config, logdir: Path):
        self.db, self.cfg = db, cfg
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"gunicorn-{db.kind}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, token: str) -> None:
        gunicorn = Path(PY).parent / "gunicorn"
        cmd = [
            str(gunicorn),
            "bounceback.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            self.cfg.str("BENCH_WORKERS"),
            "--threads",
            self.cfg.str("BENCH_THREADS"),
            "--timeout",
            "300",
            "--keep-alive",
            "30",
            "--error-logfile",
            str(self.log_path),
            "--no-control-socket",
        ]
        self.cmd = cmd
        # The app's own log lines (tracebacks included) go to the same file.
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            cmd,
            env=self.db.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            req = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
                self.base + "/api/transactions/?limit=1",
                headers={"Authorization": f"Bearer {token}"},
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (loopback)
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise SystemExit(f"gunicorn not answering on {self.base} ({last}); see {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> dict[str, Any]:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if getattr(self, "log_file", None) is not None:
            self.log_file.close()
            self.log_file = None
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "worker_timeouts": text.count("WORKER TIMEOUT"),
        }


def bench_database(
    kind: str, cfg: Config, run_id: str, workdir: Path, logdir: Path
) -> dict[str, Any]:
    db = Database(kind, cfg, workdir)
    out: dict[str, Any] = {"db": kind, "version": db.version()}
    log(f"==== {kind}: {out['version']} ====")
    db.create()
    server: Server | None = None
    try:
        cmd, label = migrate_cmd()
        t0 = time.perf_counter()
        mig = subprocess.run(
            cmd, env=db.env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
        )
        (logdir / f"migrate-{kind}.log").write_text(mig.stdout + mig.stderr)
        if mig.returncode != 0:
            sys.stderr.write(mig.stderr[-4000:])
            raise SystemExit(f"{label} failed on {kind}")
        out["migrate"] = {"command": label, "s": round(time.perf_counter() - t0, 2)}
        log(f"{label}: {out['migrate']['s']} s")

        setup_path = workdir / f"setup-{kind}.json"
        t0 = time.perf_counter()
        subprocess.run(
            [PY, str(HERE / "setup_db.py"), cfg.str("BENCH_CUSTOMERS"), str(setup_path)],
            env=db.env,
            cwd=REPO,
            timeout=900,
            check=True,
        )
        setup = json.loads(setup_path.read_text())
        out["setup"] = {
            "customers": len(setup["customers"]),
            "sites": len(setup["sites"]),
            "s": round(time.perf_counter() - t0, 2),
        }
        log(f"set-up: {out['setup']['customers']} customers, {out['setup']['sites']} sites")

        server = Server(db, cfg, logdir)
        server.start(setup["token"])
        out["server"] = {
            "command": " ".join(
                Path(server.cmd[0]).name if i == 0 else a for i, a in enumerate(server.cmd)
            ),
            "workers": cfg.int("BENCH_WORKERS"),
            "threads": cfg.int("BENCH_THREADS"),
        }
        log(f"gunicorn up on {server.base} (pid {server.pid})")

        root_pid = os.getpid()
        wait = cfg.float("BENCH_QUIET_WAIT")
        if wait > 0:
            log(f"waiting up to {wait:.0f}s for a quiet machine")
            out["quiet"] = procstat.wait_quiet(
                root_pid, cfg.float("BENCH_QUIET_THRESHOLD"), wait, log=log
            )
            if not out["quiet"]["quiet"]:
                log(f"WARNING: still busy: {out['quiet']['top_other']}")

        cap = cfg.float("BENCH_TIME_CAP")
        common = [
            "--base",
            server.base,
            "--setup",
            str(setup_path),
            "--run-id",
            run_id,
            "--time-cap",
            str(cap),
            "--root-pid",
            str(root_pid),
            "--server-pid",
            str(server.pid),
        ]
        raw_common = ["--setup", str(setup_path), "--run-id", run_id]
        sub_timeout = cap + 600

        def raw(phase: str, n: int, row_commit: int = 0) -> dict[str, Any]:
            snap = procstat.snapshot()
            res = run_json(
                [
                    PY,
                    str(HERE / "rawinsert.py"),
                    *raw_common,
                    "--phase",
                    phase,
                    "-n",
                    str(n),
                    "--reps",
                    cfg.str("BENCH_RAW_REPS"),
                    "--row-commit",
                    str(row_commit),
                ],
                db.env,
                sub_timeout,
                f"raw insert ({kind}, {phase})",
            )
            res["cpu"] = procstat.split(snap, procstat.snapshot(), root_pid, server.pid)
            line = f"raw {phase}: executemany {res['executemany']['rows_per_s']:,.0f} rows/s"
            if "copy" in res:
                line += f", COPY {res['copy']['rows_per_s']:,.0f} rows/s"
            if "row_commit" in res:
                line += f", row-per-commit {res['row_commit']['rows_per_s']:,.0f} rows/s"
            log(line)
            return res

        n_single = cfg.int("BENCH_SINGLE")
        out["raw_single"] = raw("single", n_single, min(n_single, cfg.int("BENCH_ROW_COMMIT")))
        log(f"single: {n_single} POSTs at c={cfg.str('BENCH_SINGLE_CONC')}")
        out["single"] = run_json(
            [
                PY,
                str(HERE / "loadgen.py"),
                "single",
                *common,
                "--phase",
                "single",
                "-n",
                str(n_single),
                "-c",
                cfg.str("BENCH_SINGLE_CONC"),
                "--warmup",
                cfg.str("BENCH_SINGLE_WARMUP"),
            ],
            db.env,
            sub_timeout,
            f"single load ({kind})",
        )
        s = out["single"]
        log(
            f"single: {s['req_per_s']} req/s, p50 {s['latency_ok'].get('p50_ms')} ms, "
            f"p99 {s['latency_ok'].get('p99_ms')} ms, errors {s['errors']}"
        )

        n_bulk = cfg.int("BENCH_BULK_ROWS")
        out["bulk"] = {}
        last_phase = None
        for batch in cfg.batches():
            phase = f"bulk{batch}"
            raw_res = raw(phase, n_bulk)
            log(f"bulk: {n_bulk} rows in calls of {batch} at c={cfg.str('BENCH_BULK_CONC')}")
            api = run_json(
                [
                    PY,
                    str(HERE / "loadgen.py"),
                    "bulk",
                    *common,
                    "--phase",
                    phase,
                    "-n",
                    str(n_bulk),
                    "--batch",
                    str(batch),
                    "-c",
                    cfg.str("BENCH_BULK_CONC"),
                ],
                db.env,
                sub_timeout,
                f"bulk load ({kind}, {batch})",
            )
            out["bulk"][str(batch)] = {"api": api, "raw": raw_res}
            log(
                f"bulk {batch}: {api['rows_per_s']:,.0f} rows/s, per call p50 "
                f"{api['latency_ok'].get('p50_ms')} ms, errors {api['errors']}, "
                f"created {api['created']}"
            )
            last_phase = (phase, batch)
        if cfg.str("BENCH_RESEND") == "1" and last_phase:
            phase, batch = last_phase
            log(f"re-send: {n_bulk} rows of {phase} with ~half changed, calls of {batch}")
            out["resend"] = run_json(
                [
                    PY,
                    str(HERE / "loadgen.py"),
                    "bulk",
                    *common,
                    "--phase",
                    phase,
                    "--variant",
                    "1",
                    "-n",
                    str(n_bulk),
                    "--batch",
                    str(batch),
                    "-c",
                    cfg.str("BENCH_BULK_CONC"),
                ],
                db.env,
                sub_timeout,
                f"re-send ({kind})",
            )
            r = out["resend"]
            log(
                f"re-send: {r['rows_per_s']:,.0f} rows/s; updated {r['updated']}, "
                f"unchanged {r['unchanged']}, created {r['created']}, errors {r['errors']}"
            )
        out["memory"] = procstat.memory(server.pid)
        mem = out["memory"]
        log(
            f"server memory: peak {mem['peak_sum_mib']} MiB summed over "
            f"{len(mem['processes'])} processes, largest {mem['peak_max_mib']} MiB"
        )
    finally:
        if server is not None:
            out["server_log"] = server.stop()
        db.drop()
    return out


# ---------------------------------------------------------------- report


def fmt(v: Any, nd: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def peer_published() -> dict[str, Any]:
    """The peer's published figures, read from its README (not measured here)."""
    readme = PEER_DIR / "README.md"
    info: dict[str, Any] = {"source": str(readme)}
    if not readme.exists():
        info["note"] = "peer README not found"
        return info
    text = " ".join(readme.read_text().split())
    m = re.search(
        r"create ([\d.]+) req/s \(SQLite\) and ([\d.]+) req/s \(PostgreSQL; ([\d.]+) with "
        r"persistent connections\), p99 (\d+) / (\d+) ms",
        text,
    )
    para = re.search(r"(Figures from one clean run.*?\.)\s+Bounceback", text)
    info["text"] = para.group(1) if para else None
    if m:
        info.update(
            sqlite_req_s=float(m.group(1)),
            postgresql_req_s=float(m.group(2)),
            postgresql_persistent_req_s=float(m.group(3)),
            sqlite_p99_ms=int(m.group(4)),
            postgresql_p99_ms=int(m.group(5)),
        )
    return info


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return a / b


def error_notes(results: dict[str, Any]) -> list[str]:
    """One line per phase that had failed calls, with a sample answer."""
    notes = []
    for d in results["databases"]:
        phases = [("single", d.get("single"))]
        phases += [(f"bulk {b}/call", v.get("api")) for b, v in d.get("bulk", {}).items()]
        phases.append(("re-send", d.get("resend")))
        for name, phase in phases:
            if not phase or not phase.get("errors"):
                continue
            sample = (phase.get("error_samples") or [{}])[0]
            body = " ".join(str(sample.get("body", "")).split())[:160]
            line = (
                f"ERRORS {d['db']} {name}: {phase['errors']} of {phase['requests']} calls failed, "
                f"statuses {phase['statuses']}; e.g. {sample.get('status')} {body}"
            )
            size = phase.get("body_bytes_mean") or 0
            if sample.get("status") == 400 and size > 2_621_440 and "<html" in body.lower():
                line += (
                    f" -- request bodies average {size / 1048576:.1f} MiB, above Django's "
                    "DATA_UPLOAD_MAX_MEMORY_SIZE (default 2.5 MiB)"
                )
            notes.append(line)
    return notes


def contamination_notes(results: dict[str, Any], cfg: Config) -> list[str]:
    """Warn about phases during which other processes used a noticeable share of the CPU."""
    notes = []
    limit = cfg.float("BENCH_QUIET_THRESHOLD")
    for d in results["databases"]:
        phases = [("raw single", d.get("raw_single")), ("single", d.get("single"))]
        for b, v in d.get("bulk", {}).items():
            phases += [(f"raw bulk {b}", v.get("raw")), (f"bulk {b}/call", v.get("api"))]
        phases.append(("re-send", d.get("resend")))
        for name, phase in phases:
            cpu = (phase or {}).get("cpu") or {}
            if cpu.get("window_s", 0) >= 1 and cpu.get("other_cores", 0) >= limit:
                notes.append(
                    f"WARNING {d['db']} {name}: other processes used {cpu['other_cores']:.2f} "
                    f"cores ({', '.join(cpu['top_other'])}); this figure is contaminated"
                )
    return notes


def cores(phase: dict[str, Any]) -> str:
    """Average cores the server used (and each of its busy processes), and PostgreSQL's."""
    cpu = phase["cpu"]
    per = [v for v in cpu.get("server_cores_by_pid", {}).values() if v >= 0.05]
    split = f" ({'+'.join(f'{v:.2f}' for v in per)})" if len(per) > 1 else ""
    return f"{cpu['server_cores']:.2f}{split} / {cpu['postgres_cores']:.2f}"


def cpu_per_k(phase: dict[str, Any]) -> str:
    """Server CPU seconds spent per 1,000 rows stored in a phase."""
    if not phase.get("rows_ok"):
        return "-"
    return fmt(1000 * phase["cpu"]["server_cpu_s"] / phase["rows_ok"], 3)


def report(results: dict[str, Any], cfg: Config) -> tuple[str, dict[str, Any]]:
    dbs = [r["db"] for r in results["databases"]]
    data = {r["db"]: r for r in results["databases"]}
    rows: list[tuple[str, str, dict[str, str]]] = []
    verdicts: list[dict[str, Any]] = []

    def row(label: str, unit: str, fn: Any) -> None:
        vals = {}
        for db in dbs:
            try:
                vals[db] = fn(data[db])
            except (KeyError, TypeError, ZeroDivisionError):
                vals[db] = "-"
        rows.append((label, unit, vals))

    def pp(lat: dict[str, Any]) -> str:
        if not lat or not lat.get("n"):
            return "-"
        return f"{fmt(lat['p50_ms'], 1)} / {fmt(lat['p99_ms'], 1)}"

    def rr(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f} ({x * 100:.1f}%)"

    conc_s, conc_b = cfg.str("BENCH_SINGLE_CONC"), cfg.str("BENCH_BULK_CONC")
    n_single, n_bulk = cfg.int("BENCH_SINGLE"), cfg.int("BENCH_BULK_ROWS")
    row(
        f"A  single POST /api/transactions/ ({fmt(n_single)} @ c={conc_s})",
        "req/s = rows/s",
        lambda d: fmt(d["single"]["req_per_s"], 1),
    )
    row("", "p50 / p99 ms", lambda d: pp(d["single"]["latency_ok"]))
    row("", "errors / requests", lambda d: f"{d['single']['errors']} / {d['single']['requests']}")
    row("", "server CPU s / 1k rows", lambda d: cpu_per_k(d["single"]))
    row("", "cores busy: server / postgres", lambda d: cores(d["single"]))
    row(
        "   raw executemany, same rows, 1 commit",
        "rows/s",
        lambda d: fmt(d["raw_single"]["executemany"]["rows_per_s"]),
    )
    row(
        "   raw INSERT + COMMIT per row",
        "rows/s",
        lambda d: fmt(d["raw_single"]["row_commit"]["rows_per_s"]),
    )
    row(
        "   ratio single / raw executemany",
        "",
        lambda d: rr(
            ratio(d["single"]["rows_per_s"], d["raw_single"]["executemany"]["rows_per_s"])
        ),
    )
    row(
        "   ratio single / raw row-per-commit",
        "",
        lambda d: rr(ratio(d["single"]["rows_per_s"], d["raw_single"]["row_commit"]["rows_per_s"])),
    )
    for batch in cfg.batches():
        b = str(batch)
        row(
            f"B  bulk POST /api/transactions/bulk, {fmt(batch)}/call "
            f"({fmt(n_bulk)} rows @ c={conc_b})",
            "rows/s",
            lambda d, b=b: fmt(d["bulk"][b]["api"]["rows_per_s"]),
        )
        row("", "per-call p50 / p99 ms", lambda d, b=b: pp(d["bulk"][b]["api"]["latency_ok"]))
        row(
            "",
            "errors / calls",
            lambda d, b=b: f"{d['bulk'][b]['api']['errors']} / {d['bulk'][b]['api']['requests']}",
        )
        row("", "server CPU s / 1k rows", lambda d, b=b: cpu_per_k(d["bulk"][b]["api"]))
        row("", "cores busy: server / postgres", lambda d, b=b: cores(d["bulk"][b]["api"]))
        row(
            "   raw executemany, same rows, 1 commit",
            "rows/s",
            lambda d, b=b: fmt(d["bulk"][b]["raw"]["executemany"]["rows_per_s"]),
        )
        row(
            "   raw COPY, same rows (PostgreSQL)",
            "rows/s",
            lambda d, b=b: fmt(d["bulk"][b]["raw"]["copy"]["rows_per_s"]),
        )

        def bulk_ratio(d: dict[str, Any], b: str = b) -> str:
            x = ratio(
                d["bulk"][b]["api"]["rows_per_s"], d["bulk"][b]["raw"]["executemany"]["rows_per_s"]
            )
            if x is None:
                return "-"
            ok = x >= GOAL_BULK_RATIO
            verdicts.append({"db": d["db"], "batch": int(b), "ratio": round(x, 4), "pass": ok})
            return f"{rr(x)} {'PASS' if ok else 'FAIL'}"

        row(f"   ratio bulk / raw executemany (goal >= {GOAL_BULK_RATIO:.0%})", "", bulk_ratio)
        row(
            "   ratio bulk / raw COPY (stricter, PostgreSQL)",
            "",
            lambda d, b=b: rr(
                ratio(d["bulk"][b]["api"]["rows_per_s"], d["bulk"][b]["raw"]["copy"]["rows_per_s"])
            ),
        )
    if cfg.str("BENCH_RESEND") == "1":
        row(
            f"C  re-send last bulk rows, ~half changed ({fmt(cfg.batches()[-1])}/call)",
            "rows/s",
            lambda d: fmt(d["resend"]["rows_per_s"]),
        )
        row(
            "",
            "updated / unchanged",
            lambda d: f"{fmt(d['resend']['updated'])} / {fmt(d['resend']['unchanged'])}",
        )
        row("", "per-call p50 / p99 ms", lambda d: pp(d["resend"]["latency_ok"]))
    row(
        f"M  server peak RSS, {cfg.str('BENCH_WORKERS')} workers + master (VmHWM sum)",
        "MiB",
        lambda d: fmt(d["memory"]["peak_sum_mib"], 1),
    )
    row("   largest single process peak RSS", "MiB", lambda d: fmt(d["memory"]["peak_max_mib"], 1))

    def others(d: dict[str, Any]) -> str:
        phases = [d["single"], *(v["api"] for v in d["bulk"].values())]
        return " / ".join(f"{p['cpu']['other_cores']:.2f}" for p in phases)

    row(
        "   other processes' CPU during A / B " + " / ".join(fmt(b) for b in cfg.batches()),
        "cores",
        others,
    )
    row(
        "   server tracebacks / worker timeouts",
        "",
        lambda d: f"{d['server_log']['tracebacks']} / {d['server_log']['worker_timeouts']}",
    )
    row(
        "   migrate / set-up (not measured)",
        "s",
        lambda d: f"{d['migrate']['s']} / {d['setup']['s']}",
    )

    w0 = max(len(r[0]) for r in rows) + 2
    w1 = max(len(r[1]) for r in rows) + 2
    wc = max(14, max(len(v) for r in rows for v in r[2].values()) + 2)
    lines = [
        f"Bounceback ingest benchmark - {results['started']} - run took {results['run_s']:.0f} s"
        + (" - QUICK (smoke sizes, figures not meaningful)" if results["quick"] else ""),
        f"host: {results['host']} | Python {platform.python_version()} | Django {ver('Django')}, "
        f"django-ninja {ver('django-ninja')}, gunicorn {ver('gunicorn')} gthread "
        f"({cfg.str('BENCH_WORKERS')} workers x {cfg.str('BENCH_THREADS')} threads), "
        f"psycopg {ver('psycopg')}",
        "databases: "
        + "; ".join(data[db]["version"] for db in dbs)
        + f" | {cfg.str('BENCH_CUSTOMERS')} customers, 20 sites"
        + "; client and server share the machine",
        "",
        f"{'metric':<{w0}}{'unit':<{w1}}" + "".join(f"{db:>{wc}}" for db in dbs),
        "-" * (w0 + w1 + wc * len(dbs)),
    ]
    for label, unit, vals in rows:
        lines.append(f"{label:<{w0}}{unit:<{w1}}" + "".join(f"{vals[db]:>{wc}}" for db in dbs))

    peer = results.get("peer_published", {})
    lines.append("")
    lines.append(
        "Peer django-helpdesk - PUBLISHED figures from its README, NOT measured in this run"
    )
    lines.append(f"  ({peer.get('source')}):")
    if peer.get("text"):
        lines.append("  " + peer["text"])
    if "sqlite_req_s" in peer:
        comp = []
        for db in dbs:
            ours = (data[db].get("single") or {}).get("req_per_s")
            theirs = peer.get(f"{db}_req_s")
            if ours and theirs:
                comp.append(f"{db} {ours:,.1f} vs {theirs:,.1f} req/s = {ours / theirs:.2f}x")
        if comp:
            lines.append(
                f"  Bounceback single create (c={cfg.str('BENCH_SINGLE_CONC')}) vs the peer's "
                "published ticket create (c=8): " + "; ".join(comp)
            )
    else:
        lines.append("  " + peer.get("note", "published figures not found in the README"))
    if results.get("peer_run"):
        lines.append("")
        lines.append("Peer django-helpdesk measured in THIS run (--with-peer):")
        lines.append(results["peer_run"].get("table") or results["peer_run"].get("error", "-"))

    notes = error_notes(results) + contamination_notes(results, cfg)
    if notes:
        lines.append("")
        lines.extend(notes)
    lines.append("")
    if verdicts:
        failed = [v for v in verdicts if not v["pass"]]
        summary = ", ".join(
            f"{v['db']} {fmt(v['batch'])}/call {v['ratio'] * 100:.1f}%" for v in verdicts
        )
        lines.append(
            f"GOAL bulk ingest >= {GOAL_BULK_RATIO:.0%} of the raw insert rate: "
            + ("PASS" if not failed else "FAIL")
            + f" ({summary})"
        )
    return "\n".join(lines), {"verdicts": verdicts}


def host_line() -> str:
    cpu, mem_gib = "?", 0.0
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            mem_gib = int(fh.readline().split()[1]) / 1024 / 1024
    except OSError:
        pass
    return f"{os.cpu_count() or 0} vCPU {cpu}, {mem_gib:.0f} GiB RAM"


def run_peer(results_dir: Path) -> dict[str, Any]:
    """Run the peer's own harness (about 15 minutes); its table lands in our results dir."""
    script = PEER_DIR / "run.sh"
    if not script.exists():
        return {"error": f"{script} not found"}
    out_txt = results_dir / f"peer-helpdesk-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    env = dict(os.environ, RESULTS_TXT=str(out_txt))
    log(f"running the peer harness {script} (about 15 minutes)")
    try:
        proc = subprocess.run(
            ["bash", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=45 * 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "peer harness did not finish within 45 minutes"}
    if proc.returncode != 0:
        return {"error": f"peer harness failed (exit {proc.returncode}): {proc.stderr[-2000:]}"}
    return {"table": proc.stdout.strip(), "results_txt": str(out_txt)}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (figures meaningless)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--sqlite-only", action="store_true")
    only.add_argument("--postgres-only", action="store_true")
    ap.add_argument(
        "--with-peer",
        action="store_true",
        help="also run the peer's harness (../shared/bench/peer-helpdesk, ~15 min)",
    )
    ap.add_argument("--strict", action="store_true", help="exit 2 if the bulk goal is missed")
    ap.add_argument("--results-dir", default=str(HERE / "results"))
    args = ap.parse_args()

    cfg = Config(args.quick)
    kinds = ["sqlite", "postgresql"]
    if args.sqlite_only:
        kinds = ["sqlite"]
    elif args.postgres_only:
        kinds = ["postgresql"]
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    logdir = results_dir / f"ingest-{stamp}-logs"
    logdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bounceback-bench-"))
    run_id = f"r{stamp}{secrets.token_hex(2)}"
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run_id": run_id,
        "quick": args.quick,
        "config": cfg.values,
        "host": host_line(),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
        "databases": [],
        "peer_published": peer_published(),
    }
    try:
        for kind in kinds:
            results["databases"].append(bench_database(kind, cfg, run_id, workdir, logdir))
    finally:
        if cfg.str("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    if args.with_peer:
        results["peer_run"] = run_peer(results_dir)
    results["run_s"] = time.perf_counter() - started
    table, summary = report(results, cfg)
    results.update(summary)
    results["table"] = table
    json_path = results_dir / f"ingest-{stamp}.json"
    json_path.write_text(json.dumps(results, indent=1))
    with contextlib.suppress(OSError):
        shutil.copyfile(json_path, results_dir / "latest.json")
    print(table)
    print(f"\nresults: {json_path}  logs: {logdir}")

    errors = sum(
        phase["errors"]
        for d in results["databases"]
        for phase in [
            d["single"],
            *(v["api"] for v in d["bulk"].values()),
            d.get("resend") or {"errors": 0},
        ]
    )
    if errors:
        print(f"ERROR: {errors} failed API calls; the figures above are not trustworthy")
        return 1
    if args.strict and any(not v["pass"] for v in summary["verdicts"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
