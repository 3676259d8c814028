"""The outreach benchmark (bench/outreach.py, part of `make bench`) runs end to end.

A tiny SQLite-only run in a subprocess: seeding, declare, outreach in chunks,
the raw re-insert of the same rows, the report. Bounded by the subprocess
timeout; takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from bounceback.testing.bench import bench_run


def test_quick_sqlite_run_reports_outreach_against_raw_inserts(tmp_path: Path) -> None:
    out = bench_run(
        "outreach.py",
        tmp_path,
        BENCH_OUTREACH_CUSTOMERS="120",
        BENCH_OUTREACH_CHUNK="50",
        BENCH_KEEP="0",
    )
    assert "Breakdown outreach: confirm -> every message queued and every case opened" in (out)
    assert "GOAL sqlite outreach within 5x of raw inserts:" in out
    assert "ERROR" not in out
    result = json.loads((tmp_path / "outreach-latest.json").read_text())["results"][0]
    assert result["vendor"] == "sqlite"
    assert result["affected"] == result["cases"] == result["messages"] == 120
    # cases + 2 events + interaction + outbox row + affected row for each customer
    assert result["raw_rows"] == 120 * 6
