"""The outreach benchmark (bench/outreach.py, part of `make bench`) runs end to end.

A tiny SQLite-only run in a subprocess: seeding, declare, outreach in chunks,
the raw re-insert of the same rows, the report. Bounded by the subprocess
timeout; takes a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 240


def test_quick_sqlite_run_reports_outreach_against_raw_inserts(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(BENCH_OUTREACH_CUSTOMERS="120", BENCH_OUTREACH_CHUNK="50", BENCH_KEEP="0")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "outreach.py"),
            "--quick",
            "--sqlite-only",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Breakdown outreach: confirm -> every message queued and every case opened" in (
        proc.stdout
    )
    assert "GOAL sqlite outreach within 5x of raw inserts:" in proc.stdout
    assert "ERROR" not in proc.stdout
    result = json.loads((tmp_path / "outreach-latest.json").read_text())["results"][0]
    assert result["vendor"] == "sqlite"
    assert result["affected"] == result["cases"] == result["messages"] == 120
    # cases + 2 events + interaction + outbox row + affected row for each customer
    assert result["raw_rows"] == 120 * 6
