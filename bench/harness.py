"""What every benchmark in bench/ sets up the same way, in one place (stdlib imports only).

- settings: `Config` reads a script's table of environment variables (full and
  --quick defaults); `database_settings()` and `server_settings()` are the
  entries several scripts share.
- the command line: `parser()` (--quick, --sqlite-only | --postgres-only),
  `add_outputs()` (--strict, --results-dir) and `databases()`.
- a run: `Run` holds the time stamp, the run id, the results and log folders
  and a scratch folder removed at the end (unless BENCH_KEEP=1), and writes
  the JSON results (`<name>-<stamp>.json` and a latest copy).
- a database under test: `Database`, SQLite in a data directory or a
  PostgreSQL database dropped and created through BENCH_PG_ADMIN_URL, and the
  environment a child process needs to use it (DATABASE_URL,
  BOUNCEBACK_DATA_DIR, the task backend, this checkout on PYTHONPATH).
- children: `run_json()` runs a child that prints one JSON line,
  `setup_django()` is how a child loads Django, `migrate()` runs the
  migrations, `Service` is a long-running child writing a log, `Server` is
  gunicorn on a free loopback port.
- the machine: `wait_quiet()`, `Phase` (the CPU other processes used while a
  phase ran, and a WARNING when they used BENCH_QUIET_THRESHOLD cores or more;
  every phase goes into the saved JSON) and `contamination()` (procstat's CPU
  split).
- the report: `log()`, `fmt()`, `Table` and the other helpers the tables use.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import procstat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
SETTINGS_MODULE = "bounceback.config.settings"
KINDS = ("sqlite", "postgresql")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PEER_DIR = Path(
    os.environ.get("BENCH_PEER_DIR", REPO.parent / "shared" / "bench" / "peer-helpdesk")
)

# name: (default, --quick default, help)
ConfigTable = dict[str, tuple[str, str, str]]
Row = dict[str, Any]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings


def database_settings(db_var: str, db_name: str) -> ConfigTable:
    """The PostgreSQL admin URL, the name of the database the run creates, BENCH_KEEP."""
    return {
        "BENCH_PG_ADMIN_URL": (
            PG_ADMIN_URL,
            PG_ADMIN_URL,
            "PostgreSQL URL used to drop/create the bench database",
        ),
        db_var: (db_name, db_name, "database the run creates"),
        "BENCH_KEEP": ("0", "0", "1: keep the temporary data dirs and the PostgreSQL database"),
    }


def server_settings(*, time_cap: tuple[str, str], quiet_wait: tuple[str, str]) -> ConfigTable:
    """gunicorn's size, the time cap of an API phase, and the quiet-machine wait."""
    return {
        "BENCH_TIME_CAP": (*time_cap, "seconds before an API phase stops sending"),
        "BENCH_WORKERS": ("2", "1", "gunicorn workers"),
        "BENCH_THREADS": ("4", "4", "threads per gunicorn worker"),
        "BENCH_QUIET_WAIT": (*quiet_wait, "seconds to wait for a quiet machine before measuring"),
        "BENCH_QUIET_THRESHOLD": (
            "0.25",
            "0.25",
            "cores other processes may use to count as quiet",
        ),
    }


class Config:
    """A script's settings: each variable of its table from the environment, else its
    default (or its --quick default)."""

    def __init__(self, quick: bool, table: ConfigTable):
        self.values: dict[str, str] = {}
        for name, (default, quick_default, _) in table.items():
            self.values[name] = os.environ.get(name, quick_default if quick else default)

    def int(self, name: str) -> int:
        return int(self.values[name])

    def float(self, name: str) -> float:
        return float(self.values[name])

    def str(self, name: str) -> str:
        return self.values[name]

    @property
    def keep(self) -> bool:
        """BENCH_KEEP=1: leave the scratch folder and the PostgreSQL database behind."""
        return self.values.get("BENCH_KEEP") == "1"


def task_backend(default: str = "database") -> str:
    """The task backend a bench measures: BENCH_TASK_BACKEND, never the caller's own
    BOUNCEBACK_TASK_BACKEND (a CI pass may set that)."""
    return os.environ.get("BENCH_TASK_BACKEND", default)


# ---------------------------------------------------------------- the command line


def parser(description: str, *, raw: bool = False) -> argparse.ArgumentParser:
    """--quick and --sqlite-only | --postgres-only; `raw` keeps the description's layout."""
    ap = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (figures meaningless)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--sqlite-only", action="store_true")
    only.add_argument("--postgres-only", action="store_true")
    return ap


def add_outputs(
    ap: argparse.ArgumentParser, *, strict: str | None = "exit 2 if a goal is missed"
) -> None:
    """--strict (with its help, unless None) and --results-dir."""
    if strict is not None:
        ap.add_argument("--strict", action="store_true", help=strict)
    ap.add_argument("--results-dir", default=str(HERE / "results"))


def databases(args: argparse.Namespace) -> list[str]:
    """The databases to measure, in order: both unless --sqlite-only or --postgres-only."""
    if args.sqlite_only:
        return ["sqlite"]
    if args.postgres_only:
        return ["postgresql"]
    return list(KINDS)


# ---------------------------------------------------------------- a run


class Run:
    """One bench run: a time stamp and run id, the results folder (with a log folder when
    asked), and a scratch folder that goes when the run ends unless `keep`."""

    def __init__(
        self,
        name: str,
        *,
        results_dir: str | Path | None,
        keep: bool,
        logs: bool = False,
        id_prefix: str = "r",
    ):
        self.name = name
        self.keep = keep
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.id = f"{id_prefix}{self.stamp}{secrets.token_hex(2)}"
        self.results_dir = Path(results_dir) if results_dir is not None else None
        self.logdir: Path | None = None
        if self.results_dir is not None:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            if logs:
                self.logdir = self.results_dir / f"{name}-{self.stamp}-logs"
                self.logdir.mkdir(parents=True, exist_ok=True)
        self._workdir: Path | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        warnings = contaminated()
        if warnings:
            log(f"{len(warnings)} measured phase(s) contaminated by other processes:")
            for line in warnings:
                log("  " + line)
        if self._workdir is None:
            return
        if self.keep:
            log(f"kept {self._workdir}")
        else:
            shutil.rmtree(self._workdir, ignore_errors=True)

    @property
    def workdir(self) -> Path:
        """The scratch folder (made on first use): data directories, set-up files."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"bounceback-bench-{self.name}-"))
        return self._workdir

    @property
    def logs(self) -> Path:
        assert self.logdir is not None, "Run(logs=True) makes the log folder"
        return self.logdir

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def header(self, cfg: Config, quick: bool) -> Row:
        """The first fields of a run's JSON: when, which run, how big, where, which commit."""
        return {
            "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "run_id": self.id,
            "quick": quick,
            "config": cfg.values,
            "host": host_line(),
            "git": git_commit(),
        }

    def save(self, payload: Any, *, latest: str | None = None) -> Path:
        """`<name>-<stamp>.json` in the results folder, and the same as `latest`
        (default `<name>-latest.json`)."""
        assert self.results_dir is not None, "Run(results_dir=...) to save results"
        if isinstance(payload, dict) and PHASES:
            payload.setdefault("phases", [p.record() for p in PHASES])
            payload.setdefault("contaminated", contaminated())
        path = self.results_dir / f"{self.name}-{self.stamp}.json"
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        with contextlib.suppress(OSError):
            shutil.copyfile(path, self.results_dir / (latest or f"{self.name}-latest.json"))
        return path


def summary(cfg: Config, quick: bool, results: list[Row], **verdict: bool) -> dict[str, Any]:
    """The JSON of a bench that measures in a child per database: its settings, the
    platform, each database's results and the verdict."""
    return {
        "config": cfg.values,
        "host": platform.platform(),
        "python": platform.python_version(),
        "quick": quick,
        "results": results,
        **verdict,
    }


# ---------------------------------------------------------------- a database under test


def child_env(data_dir: Path, *, backend: str, **extra: str) -> dict[str, str]:
    """The caller's environment for a child process, less DATABASE_URL, with Bounceback's
    data directory, settings module, the task backend and this checkout's code (even if
    the venv's editable install points elsewhere)."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        BOUNCEBACK_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        BOUNCEBACK_TASK_BACKEND=backend,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    )
    env.update(extra)
    return env


def served_env() -> dict[str, str]:
    """The environment of a server run the way production runs it (DEBUG off)."""
    return {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class Database:
    """One database under test: SQLite in `workdir/kind`, or PostgreSQL in a database
    (`pg_db`) that create() drops and creates through BENCH_PG_ADMIN_URL and drop()
    drops again; `env` is what a child process needs to use it. As a context manager
    it creates on entry and drops on exit."""

    def __init__(
        self,
        kind: str,
        cfg: Config,
        workdir: Path,
        *,
        pg_db: str,
        backend: str | None = None,
        **extra: str,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown database kind {kind!r}")
        self.kind = kind
        self.admin_url = cfg.str("BENCH_PG_ADMIN_URL")
        self.keep = cfg.keep
        self.pg_db = pg_db
        self.data_dir = workdir / kind
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = child_env(self.data_dir, backend=backend or task_backend(), **extra)
        if kind == "postgresql":
            self.env["DATABASE_URL"] = self.admin_url.rsplit("/", 1)[0] + "/" + pg_db

    def __enter__(self) -> Database:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)

    def create(self) -> None:
        if self.kind != "postgresql":
            return
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.pg_db):
            raise SystemExit(f"the bench database must be a plain lower-case name: {self.pg_db!r}")
        self._admin(
            f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)", f"CREATE DATABASE {self.pg_db}"
        )

    def drop(self) -> None:
        """Remove the data directory and the PostgreSQL database, unless BENCH_KEEP=1."""
        if self.keep:
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.kind == "postgresql":
            try:
                self._admin(f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")
            except Exception as exc:  # the run's own error matters more
                log(f"could not drop {self.pg_db}: {exc}")

    def version(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
        try:
            import psycopg

            with psycopg.connect(self.admin_url) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return f"PostgreSQL {row[0].split()[0] if row else '?'} on 127.0.0.1"
        except Exception as exc:  # informational only
            return f"PostgreSQL ? ({type(exc).__name__})"


# ---------------------------------------------------------------- children


class ChildFailed(SystemExit):
    """A child process exited non-zero; its standard error was echoed already."""

    def __init__(self, what: str, returncode: int, stderr: str):
        super().__init__(f"{what} failed (exit {returncode})")
        self.stderr = stderr


def run_json(
    cmd: list[str], env: dict[str, str], timeout: float, what: str, *, echo: bool = False
) -> dict[str, Any]:
    """Run a child and return the JSON object on the last line of its output. Its
    standard error is echoed when it fails (the end of it), or always with `echo`."""
    proc = subprocess.run(
        cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-6000:])
        raise ChildFailed(what, proc.returncode, proc.stderr)
    if echo:
        sys.stderr.write(proc.stderr)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_setup(cmd: list[str], env: dict[str, str], out_path: Path) -> tuple[dict[str, Any], float]:
    """Run a set-up child that writes its JSON to out_path: (that JSON, seconds taken)."""
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, timeout=900, check=True)
    return json.loads(out_path.read_text()), round(time.perf_counter() - started, 2)


def use_checkout() -> None:
    """Import `bounceback` from this checkout (even if the venv's editable install points
    elsewhere)."""
    sys.path.insert(0, str(REPO))


def setup_django(*, migrate: bool = False) -> None:
    """In a child process: this checkout's code, settings from the environment, Django
    loaded, and with `migrate` the database migrated."""
    use_checkout()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def migrate(db: Database, logdir: Path) -> dict[str, Any]:
    """`bounceback migrate` (manage.py migrate before the CLI existed) in a child, timed;
    its output goes to migrate-<kind>.log."""
    cli = Path(PY).parent / "bounceback"
    if (REPO / "bounceback" / "cli.py").exists() and cli.exists():
        cmd, label = [str(cli), "migrate"], "bounceback migrate"
    else:
        cmd = [PY, str(REPO / "manage.py"), "migrate", "--noinput", "-v0"]
        label = "manage.py migrate"
    started = time.perf_counter()
    mig = subprocess.run(
        cmd, env=db.env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )
    (logdir / f"migrate-{db.kind}.log").write_text(mig.stdout + mig.stderr)
    if mig.returncode != 0:
        sys.stderr.write(mig.stderr[-4000:])
        raise SystemExit(f"{label} failed on {db.kind}")
    return {"command": label, "s": round(time.perf_counter() - started, 2)}


class Service:
    """A long-running child (gunicorn, a worker) whose output goes to a log file."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_file: Any = None

    def spawn(self, cmd: list[str], env: dict[str, str]) -> None:
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> tuple[int | None, str]:
        """SIGTERM (SIGKILL after 30 s); (its exit status, its log)."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            code = self.proc.returncode
        self.proc = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None
        return code, self.log_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(Service):
    """gunicorn serving bounceback.config.wsgi on a free loopback port, gthread, DEBUG off."""

    def __init__(self, db: Database, cfg: Config, logdir: Path):
        super().__init__(logdir / f"gunicorn-{db.kind}.log")
        self.db, self.cfg = db, cfg
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cmd = [
            str(Path(PY).parent / "gunicorn"),
            "bounceback.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            cfg.str("BENCH_WORKERS"),
            "--threads",
            cfg.str("BENCH_THREADS"),
            "--timeout",
            "300",
            "--keep-alive",
            "30",
            "--error-logfile",
            str(self.log_path),
            "--no-control-socket",
        ]

    def start(self, token: str) -> None:
        """Start it and wait (up to 60 s) until the API answers with this token."""
        # The app's own log lines (tracebacks included) go to the same file.
        self.spawn(self.cmd, self.db.env)
        deadline = time.monotonic() + 60
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise SystemExit(f"gunicorn exited ({code}); see {self.log_path}")
            req = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
                self.base + "/api/transactions/?limit=1",
                headers={"Authorization": f"Bearer {token}"},
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (loopback)
                    if resp.status == 200:
                        log(f"gunicorn up on {self.base} (pid {self.pid})")
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise SystemExit(f"gunicorn not answering on {self.base} ({last}); see {self.log_path}")

    def description(self) -> Row:
        return {
            "command": " ".join(
                Path(self.cmd[0]).name if i == 0 else a for i, a in enumerate(self.cmd)
            ),
            "workers": self.cfg.int("BENCH_WORKERS"),
            "threads": self.cfg.int("BENCH_THREADS"),
        }

    def stop(self) -> dict[str, int]:
        _, text = self.terminate()
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "worker_timeouts": text.count("WORKER TIMEOUT"),
        }

    def loadgen(self, mode: str, setup_path: Path, run_id: str, time_cap: float) -> list[str]:
        """The command line of bench/loadgen.py against this server (more options follow)."""
        return [
            PY,
            str(HERE / "loadgen.py"),
            mode,
            "--base",
            self.base,
            "--setup",
            str(setup_path),
            "--run-id",
            run_id,
            "--time-cap",
            str(time_cap),
            "--root-pid",
            str(os.getpid()),
            "--server-pid",
            str(self.pid),
        ]


# ---------------------------------------------------------------- the machine


def wait_quiet(cfg: Config) -> dict[str, Any] | None:
    """Wait up to BENCH_QUIET_WAIT seconds (None: not at all) until other processes use
    less than BENCH_QUIET_THRESHOLD cores; what they used at the end."""
    wait = cfg.float("BENCH_QUIET_WAIT")
    if wait <= 0:
        return None
    log(f"waiting up to {wait:.0f}s for a quiet machine")
    res = procstat.wait_quiet(os.getpid(), cfg.float("BENCH_QUIET_THRESHOLD"), wait, log=log)
    if not res["quiet"]:
        log(f"WARNING: still busy: {res['top_other']}")
    return res


def busy_limit() -> float:
    """Cores other processes may use during a phase before its figure is called
    contaminated: BENCH_QUIET_THRESHOLD (0.25 by default), the same as the quiet wait."""
    try:
        return float(os.environ.get("BENCH_QUIET_THRESHOLD", "0.25"))
    except ValueError:
        return 0.25


# Every Phase measured in this process, in order: Run.save writes them and warns.
PHASES: list[Phase] = []


class Phase:
    """What the machine did while a measured phase ran, for any bench script.

        with harness.Phase("sqlite bulk 1000", server_pid=server.pid) as phase:
            ...measure...
        print(figure, phase.warning or "")

    On exit `cpu` holds procstat's split of the cores used meanwhile (this
    process tree as "bench", `server_pid`'s tree as "server", PostgreSQL,
    other processes and the top of them) and `warning` a WARNING line when
    other processes used `limit` cores or more (BENCH_QUIET_THRESHOLD), or
    None. Phases shorter than `min_window_s` are not judged (too few ticks).
    Every phase is remembered; `Run.save` writes them all to the JSON
    ("phases") and `contaminated()` lists the warnings.
    """

    def __init__(
        self,
        name: str,
        *,
        server_pid: int | None = None,
        limit: float | None = None,
        min_window_s: float = 0.2,
    ):
        self.name = name
        self.server_pid = server_pid
        self.limit = busy_limit() if limit is None else limit
        self.min_window_s = min_window_s
        self.cpu: dict[str, Any] = {}
        self.warning: str | None = None
        self.seconds = 0.0

    def __enter__(self) -> Phase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Phase:
        """Begin the phase (what `with` does), for a phase that no block encloses."""
        self._snap = procstat.snapshot()
        self._t = time.perf_counter()
        return self

    def stop(self) -> None:
        """End the phase: its CPU split and warning are set and it is remembered."""
        self.seconds = time.perf_counter() - self._t
        self.cpu = procstat.split(self._snap, procstat.snapshot(), os.getpid(), self.server_pid)
        self.warning = contamination(
            "", self.name, self.cpu, self.limit, min_window_s=self.min_window_s
        )
        if self.warning:
            log(self.warning)
        PHASES.append(self)

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "s": round(self.seconds, 3),
            "other_cores": self.cpu.get("other_cores"),
            "top_other": self.cpu.get("top_other"),
            "warning": self.warning,
        }


def contaminated() -> list[str]:
    """The WARNING lines of every phase measured so far in this process."""
    return [p.warning for p in PHASES if p.warning]


def contamination(
    db: str, name: str, cpu: dict[str, Any] | None, limit: float, *, min_window_s: float = 0.0
) -> str | None:
    """A WARNING line when other processes used `limit` cores or more during a phase."""
    cpu = cpu or {}
    if cpu.get("window_s", 0) < min_window_s or cpu.get("other_cores", 0) < limit:
        return None
    where = f"{db} {name}".strip()
    return (
        f"WARNING {where}: other processes used {cpu['other_cores']:.2f} "
        f"cores ({', '.join(cpu.get('top_other', []))})"
    )


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


def git_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def ver(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "-"


# ---------------------------------------------------------------- the report


def fmt(v: Any, nd: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def p50_p99(lat: dict[str, Any]) -> str:
    """'p50 / p99' of a latency summary, in ms."""
    if not lat or not lat.get("n"):
        return "-"
    return f"{fmt(lat['p50_ms'], 1)} / {fmt(lat['p99_ms'], 1)}"


def cores(phase: dict[str, Any]) -> str:
    """Average cores the server used (and each of its busy processes), and PostgreSQL's."""
    cpu = phase["cpu"]
    per = [v for v in cpu.get("server_cores_by_pid", {}).values() if v >= 0.05]
    split = f" ({'+'.join(f'{v:.2f}' for v in per)})" if len(per) > 1 else ""
    return f"{cpu['server_cores']:.2f}{split} / {cpu['postgres_cores']:.2f}"


def failed_calls(db: str, name: str, phase: dict[str, Any], *, noun: str = "calls ") -> str:
    """'ERRORS db name: n of m calls failed, statuses ...; e.g. <first answer>'."""
    sample = (phase.get("error_samples") or [{}])[0]
    body = " ".join(str(sample.get("body", "")).split())[:160]
    return (
        f"ERRORS {db} {name}: {phase['errors']} of {phase['requests']} {noun}failed, "
        f"statuses {phase['statuses']}; e.g. {sample.get('status')} {body}"
    )


class Table:
    """Rows of a metric, its unit and one value per database; a value that cannot be
    computed (a missing phase, a zero) shows as '-'."""

    MISSING = (KeyError, TypeError, ZeroDivisionError, StopIteration)

    def __init__(self, results: list[Row]):
        self.dbs = [r["db"] for r in results]
        self.data = {r["db"]: r for r in results}
        self.rows: list[tuple[str, str, dict[str, str]]] = []

    def has(self, key: str) -> bool:
        return any(key in self.data[db] for db in self.dbs)

    def row(self, label: str, unit: str, fn: Callable[[Row], str]) -> None:
        vals = {}
        for db in self.dbs:
            try:
                vals[db] = fn(self.data[db])
            except self.MISSING:
                vals[db] = "-"
        self.rows.append((label, unit, vals))

    def lines(self) -> list[str]:
        """The heading, a rule and the rows, in columns."""
        w0 = max(len(r[0]) for r in self.rows) + 2
        w1 = max(len(r[1]) for r in self.rows) + 2
        wc = max(14, max(len(v) for r in self.rows for v in r[2].values()) + 2)
        out = [
            f"{'metric':<{w0}}{'unit':<{w1}}" + "".join(f"{db:>{wc}}" for db in self.dbs),
            "-" * (w0 + w1 + wc * len(self.dbs)),
        ]
        for label, unit, vals in self.rows:
            out.append(
                f"{label:<{w0}}{unit:<{w1}}" + "".join(f"{vals[db]:>{wc}}" for db in self.dbs)
            )
        return out


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


def run_peer(
    results_dir: Path | None, *, kinds: list[str], tickets: int | None = None
) -> dict[str, Any]:
    """Run the peer's own harness (PEER_DIR/run.sh, django-helpdesk from PyPI, about 15
    minutes) in this run, on `kinds`, with `tickets` tickets for its list part (its own
    default otherwise), in its own folder, port and database. Returns its table, the CPU
    other processes used meanwhile, and per database what it measured: "create" (its
    ticket creation at concurrency 8: rps, latency_ok) and "list" (its staff list,
    DataTables and API list latencies), or "error"."""
    script = PEER_DIR / "run.sh"
    if not script.exists():
        return {"error": f"{script} not found"}
    root = Path(
        os.environ.get("BENCH_PEER_ROOT", Path(tempfile.gettempdir()) / "bounceback-bench-peer")
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    env = dict(
        os.environ,
        PEER_ROOT=str(root),
        DBS=" ".join(kinds),
        PORT=str(free_port()),
        PEER_PG_DB="bounceback_bench_peer",
        RESULTS_TXT=str((results_dir or HERE / "results") / f"peer-helpdesk-{stamp}.txt"),
    )
    if tickets is not None:
        env["N_TICKETS"] = str(tickets)
    log(f"running the peer harness {script} (about 15 minutes)")
    with Phase("peer harness", min_window_s=0) as phase:
        try:
            proc = subprocess.run(
                ["bash", str(script)],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": "the peer harness did not finish within an hour"}
    if proc.returncode != 0:
        return {"error": f"peer harness failed (exit {proc.returncode}): {proc.stderr[-2000:]}"}
    out: dict[str, Any] = {
        "table": proc.stdout.strip(),
        "cpu": phase.cpu,
        "warning": phase.warning,
        "results_txt": env["RESULTS_TXT"],
    }
    for kind in kinds:
        got: dict[str, Any] = {}
        create = root / "results" / f"{kind}-create-session.json"
        if create.exists():
            got["create"] = json.loads(create.read_text())
        listing = root / "results" / f"{kind}-list.json"
        if listing.exists():
            targets = json.loads(listing.read_text()).get("targets", {})
            got["list"] = {name: t.get("latency") for name, t in targets.items()}
        out[kind] = got
    return out
