"""The ingest benchmark harness (bench/run.py, `make bench`) runs end to end.

A tiny SQLite-only run in a subprocess: the real server on a loopback port,
the load generator and the raw-insert script, no network beyond 127.0.0.1.
Bounded by the subprocess timeout; takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from bounceback.testing.bench import bench_run


def test_quick_sqlite_run_prints_the_ratios(tmp_path: Path) -> None:
    out = bench_run(
        "run.py",
        tmp_path,
        BENCH_CUSTOMERS="5",
        BENCH_SINGLE="12",
        BENCH_SINGLE_WARMUP="2",
        BENCH_BULK_ROWS="60",
        BENCH_BULK_BATCHES="20,60",
        BENCH_ROW_COMMIT="5",
        BENCH_QUIET_WAIT="0",
        BENCH_TIME_CAP="60",
        BENCH_KEEP="0",
    )
    assert "ratio single / raw executemany" in out
    assert "ratio bulk / raw executemany (goal >= 25%)" in out
    assert "GOAL bulk ingest >= 25% of the raw insert rate:" in out
    assert "PUBLISHED figures" in out

    result = json.loads((tmp_path / "latest.json").read_text())
    (sqlite,) = result["databases"]
    assert sqlite["db"] == "sqlite"
    assert sqlite["single"]["created"] == 12
    assert sqlite["single"]["errors"] == 0
    for batch in ("20", "60"):
        assert sqlite["bulk"][batch]["api"]["created"] == 60
        assert sqlite["bulk"][batch]["raw"]["executemany"]["rows_per_s"] > 0
    assert sqlite["resend"]["updated"] + sqlite["resend"]["unchanged"] == 60
    assert sqlite["memory"]["peak_sum_mib"] > 0
    assert {v["batch"] for v in result["verdicts"]} == {20, 60}
