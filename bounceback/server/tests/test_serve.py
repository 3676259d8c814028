"""`bounceback serve`, `migrate` and `web` as real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bounceback.server.testing import (
    CLI,
    REPO_ROOT,
    RUN_MARKER,
    free_port,
    kill_marked,
    process_env,
    run_cli,
    wait_for_http,
    wait_until_gone,
)

pytestmark = pytest.mark.usefixtures("clean_queue")


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    marker: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def child_pids(self) -> dict[str, int]:
        found = re.search(r"web pid (\d+), worker pid (\d+)", self.output())
        assert found, self.output()
        return {"web": int(found[1]), "worker": int(found[2])}


@pytest.fixture
def served(tmp_path: Path, data_dir: Path) -> Iterator[Served]:
    """`bounceback serve` on a free port over the test database, answering /healthz."""
    env = process_env(data_dir=data_dir, WEB_CONCURRENCY="1", WEB_THREADS="2")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_http(f"{url}/healthz", process=process) == 200
        yield Served(process, url, env[RUN_MARKER], log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        kill_marked(env[RUN_MARKER])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_sigterm_or_ctrl_c(served: Served, signum: int) -> None:
    pids = served.child_pids()

    served.process.send_signal(signum)

    assert served.process.wait(timeout=60) == 0, served.output()
    assert "Traceback" not in served.output()
    assert wait_until_gone(served.marker) == [], f"left running; children were {pids}"


def test_serve_stops_everything_when_a_child_dies(served: Served) -> None:
    os.kill(served.child_pids()["worker"], signal.SIGKILL)

    assert served.process.wait(timeout=60) != 0
    assert "The worker process was killed by SIGKILL unexpectedly" in served.output()
    assert wait_until_gone(served.marker) == []


def test_migrate_builds_a_fresh_database_and_serve_refuses_one_that_is_not(
    data_dir: Path,
) -> None:
    env = process_env(data_dir=data_dir)
    del env["DATABASE_URL"]  # the embedded default: SQLite inside the data directory

    refused = run_cli("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 1
    assert "Run `bounceback migrate` first" in refused.stderr

    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert (data_dir / "bounceback.sqlite3").exists()
    again = run_cli("migrate", "--check", env=env)
    assert again.returncode == 0, again.stderr
