"""Helpers for tests that start real Bounceback processes (workers, servers, the CLI).

A child process reads its settings from the environment like any deployment,
so these helpers build an environment that points it at the pytest-django test
database and the task backend under test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CLI = [sys.executable, "-m", "bounceback.cli"]

# Marks every process a test starts (and their children, which inherit it), so
# a test can prove none is left behind.
RUN_MARKER = "BOUNCEBACK_TEST_PROCESS"

BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
    "redis": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
}


def database_url() -> str:
    """A DATABASE_URL for the database this test process is using right now."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or ""
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise NotImplementedError(f"no DATABASE_URL for {connection.vendor}")


def process_env(*, data_dir: Path, task_backend: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child process sharing this test's database and queues."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.update(
        DJANGO_SETTINGS_MODULE="bounceback.config.settings",
        DATABASE_URL=database_url(),
        BOUNCEBACK_DATA_DIR=str(data_dir),
        BOUNCEBACK_TASK_BACKEND=task_backend or settings.TASK_BACKEND,
        REDIS_URL=settings.REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        **{RUN_MARKER: uuid.uuid4().hex},
    )
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own argv, no shell)
        [*CLI, *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, *, process: subprocess.Popen[Any], timeout: float = 60) -> int:
    """Poll url until it answers; fail early if the process serving it has exited."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http to localhost)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            last_error = exc
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last_error}")


def marked_processes(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment carries this run's marker."""
    needle = f"{RUN_MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, *, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_marked(marker: str) -> None:
    """Last-resort clean-up so one failing test cannot leave servers running."""
    for pid in marked_processes(marker):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def clear_redis_queue(name: str = "default") -> None:
    """Drop queued jobs so a test's worker sees only that test's tasks."""
    import django_rq

    django_rq.get_queue(name).empty()


@contextmanager
def no_leftover_processes(env: dict[str, str]) -> Iterator[str]:
    marker = env[RUN_MARKER]
    try:
        yield marker
    finally:
        kill_marked(marker)
