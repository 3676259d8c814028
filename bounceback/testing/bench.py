"""Running a bench script (bench/*.py) end to end from a test.

A tiny SQLite-only run in a subprocess with the script's `--quick` flag: the
harness tests check the script still runs and reports, not how fast anything is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240


def bench_run(script: str, results_dir: Path, **env: str) -> str:
    """Run `bench/<script> --quick --sqlite-only` with `env` set (DATABASE_URL unset),
    results in `results_dir`; fails the test unless it exits 0, else its stdout."""
    environment = dict(os.environ)
    environment.pop("DATABASE_URL", None)
    environment.update(env)
    proc = subprocess.run(  # noqa: S603 (our own argv, no shell)
        [
            sys.executable,
            str(REPO / "bench" / script),
            "--quick",
            "--sqlite-only",
            "--results-dir",
            str(results_dir),
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout
