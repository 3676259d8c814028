"""The timer and case-creation benchmark (bench/timers.py, part of `make bench`) runs end to end.

A tiny SQLite-only run in a subprocess: the real worker process firing bench
timers, the in-process cost probe, gunicorn on a loopback port and the load
generator, no network beyond 127.0.0.1. Bounded by the subprocess timeout;
takes about 20 seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from bounceback.testing.bench import bench_run


def test_quick_sqlite_run_reports_lateness_idle_cpu_and_case_rate(tmp_path: Path) -> None:
    out = bench_run(
        "timers.py",
        tmp_path,
        BENCH_TIMERS_PENDING="500",
        BENCH_TIMERS_RATE="20",
        BENCH_TIMERS_STREAM_S="2",
        BENCH_TIMERS_IDLE_S="2",
        BENCH_TIMERS_IDLE_EMPTY_S="1",
        BENCH_TIMERS_SETTLE_S="0.5",
        BENCH_TIMERS_REPS="5",
        BENCH_CASES="10",
        BENCH_CASES_WARMUP="2",
        BENCH_CASES_CUSTOMERS="5",
        BENCH_QUIET_WAIT="0",
        BENCH_TIME_CAP="60",
        BENCH_KEEP="0",
    )
    assert "lateness, committed (goal p99 < 1 s)" in out
    assert "idle worker, 500 pending (goal < 2%)" in out
    assert "ratio case create / transaction create" in out
    assert "GOAL timers fire late by < 1 s at p99:" in out
    assert "GOAL an idle worker uses < 2% of a core:" in out
    assert "PUBLISHED (not measured here)" in out

    result = json.loads((tmp_path / "timers-latest.json").read_text())
    (sqlite,) = result["databases"]
    assert sqlite["db"] == "sqlite"
    timers = sqlite["timers"]
    assert timers["load"]["counts"]["pending"] >= 500
    assert timers["costs"]["index_used"] is True
    assert timers["idle"]["worker_cpu_s"] >= 0
    assert timers["idle_no_clock"]["window_s"] > 0
    stream = timers["stream"]
    assert stream["expected"] == 40
    assert stream["fired"] == 40
    assert stream["missed"] == 0
    assert stream["lateness_visible"]["n"] == 40
    # Nothing fires before it is due.
    assert stream["lateness_written"]["min_ms"] >= 0
    cases = sqlite["cases"]
    assert cases["cases"]["created"] == 10
    assert cases["cases"]["errors"] == 0
    assert cases["transactions"]["created"] == 10
    assert {v["goal"] for v in result["verdicts"]} == {"lateness_p99", "idle_worker_cpu"}
