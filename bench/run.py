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

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness
import procstat
from harness import HERE, PEER_DIR, PY, Config, fmt, log, ver

GOAL_BULK_RATIO = 0.25

# name: (default, --quick default, help)
CONFIG: harness.ConfigTable = {
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
    **harness.server_settings(time_cap=("150", "60"), quiet_wait=("120", "0")),
    **harness.database_settings("BENCH_PG_DB", "bounceback_bench"),
}


def batches(cfg: Config) -> list[int]:
    return [int(b) for b in cfg.str("BENCH_BULK_BATCHES").split(",") if b.strip()]


def bench_database(kind: str, cfg: Config, run: harness.Run) -> dict[str, Any]:
    db = harness.Database(
        kind, cfg, run.workdir, pg_db=cfg.str("BENCH_PG_DB"), **harness.served_env()
    )
    out: dict[str, Any] = {"db": kind, "version": db.version()}
    log(f"==== {kind}: {out['version']} ====")
    server: harness.Server | None = None
    with db:
        try:
            out["migrate"] = harness.migrate(db, run.logs)
            log(f"{out['migrate']['command']}: {out['migrate']['s']} s")
            setup_path = run.workdir / f"setup-{kind}.json"
            setup, took = harness.run_setup(
                [PY, str(HERE / "setup_db.py"), cfg.str("BENCH_CUSTOMERS"), str(setup_path)],
                db.env,
                setup_path,
            )
            out["setup"] = {
                "customers": len(setup["customers"]),
                "sites": len(setup["sites"]),
                "s": took,
            }
            log(f"set-up: {out['setup']['customers']} customers, {out['setup']['sites']} sites")

            server = harness.Server(db, cfg, run.logs)
            server.start(setup["token"])
            out["server"] = server.description()
            quiet = harness.wait_quiet(cfg)
            if quiet is not None:
                out["quiet"] = quiet
            measure_phases(out, db, cfg, server, setup_path, run.id)
        finally:
            if server is not None:
                out["server_log"] = server.stop()
    return out


def measure_phases(
    out: dict[str, Any],
    db: harness.Database,
    cfg: Config,
    server: harness.Server,
    setup_path: Path,
    run_id: str,
) -> None:
    """Raw and API single calls, then raw and API bulk calls at each batch size, the
    re-send and the server's memory, into `out`."""
    kind = db.kind
    cap = cfg.float("BENCH_TIME_CAP")
    sub_timeout = cap + 600

    def raw(phase: str, n: int, row_commit: int = 0) -> dict[str, Any]:
        snap = procstat.snapshot()
        res = harness.run_json(
            [
                PY,
                str(HERE / "rawinsert.py"),
                "--setup",
                str(setup_path),
                "--run-id",
                run_id,
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
        res["cpu"] = procstat.split(snap, procstat.snapshot(), os.getpid(), server.pid)
        line = f"raw {phase}: executemany {res['executemany']['rows_per_s']:,.0f} rows/s"
        if "copy" in res:
            line += f", COPY {res['copy']['rows_per_s']:,.0f} rows/s"
        if "row_commit" in res:
            line += f", row-per-commit {res['row_commit']['rows_per_s']:,.0f} rows/s"
        log(line)
        return res

    def bulk(phase: str, batch: int, what: str, variant: int = 0) -> dict[str, Any]:
        return harness.run_json(
            [
                *server.loadgen("bulk", setup_path, run_id, cap),
                "--phase",
                phase,
                *(["--variant", str(variant)] if variant else []),
                "-n",
                str(n_bulk),
                "--batch",
                str(batch),
                "-c",
                cfg.str("BENCH_BULK_CONC"),
            ],
            db.env,
            sub_timeout,
            what,
        )

    n_single = cfg.int("BENCH_SINGLE")
    out["raw_single"] = raw("single", n_single, min(n_single, cfg.int("BENCH_ROW_COMMIT")))
    log(f"single: {n_single} POSTs at c={cfg.str('BENCH_SINGLE_CONC')}")
    out["single"] = harness.run_json(
        [
            *server.loadgen("single", setup_path, run_id, cap),
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
    for batch in batches(cfg):
        phase = f"bulk{batch}"
        raw_res = raw(phase, n_bulk)
        log(f"bulk: {n_bulk} rows in calls of {batch} at c={cfg.str('BENCH_BULK_CONC')}")
        api = bulk(phase, batch, f"bulk load ({kind}, {batch})")
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
        out["resend"] = bulk(phase, batch, f"re-send ({kind})", variant=1)
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


# ---------------------------------------------------------------- report


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
            line = harness.failed_calls(d["db"], name, phase)
            sample = (phase.get("error_samples") or [{}])[0]
            body = " ".join(str(sample.get("body", "")).split())[:160]
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
            note = harness.contamination(
                d["db"], name, (phase or {}).get("cpu"), limit, min_window_s=1
            )
            if note:
                notes.append(note + "; this figure is contaminated")
    return notes


def cpu_per_k(phase: dict[str, Any]) -> str:
    """Server CPU seconds spent per 1,000 rows stored in a phase."""
    if not phase.get("rows_ok"):
        return "-"
    return fmt(1000 * phase["cpu"]["server_cpu_s"] / phase["rows_ok"], 3)


def report(results: dict[str, Any], cfg: Config) -> tuple[str, dict[str, Any]]:
    table = harness.Table(results["databases"])
    dbs, data, row, pp = table.dbs, table.data, table.row, harness.p50_p99
    verdicts: list[dict[str, Any]] = []

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
    row("", "cores busy: server / postgres", lambda d: harness.cores(d["single"]))
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
    for batch in batches(cfg):
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
        row("", "cores busy: server / postgres", lambda d, b=b: harness.cores(d["bulk"][b]["api"]))
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
            f"C  re-send last bulk rows, ~half changed ({fmt(batches(cfg)[-1])}/call)",
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
        "   other processes' CPU during A / B " + " / ".join(fmt(b) for b in batches(cfg)),
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
        *table.lines(),
    ]

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
    ap = harness.parser(__doc__, raw=True)
    ap.add_argument(
        "--with-peer",
        action="store_true",
        help="also run the peer's harness (../shared/bench/peer-helpdesk, ~15 min)",
    )
    harness.add_outputs(ap, strict="exit 2 if the bulk goal is missed")
    args = ap.parse_args()

    cfg = Config(args.quick, CONFIG)
    with harness.Run("ingest", results_dir=args.results_dir, keep=cfg.keep, logs=True) as run:
        results: dict[str, Any] = {
            **run.header(cfg, args.quick),
            "databases": [],
            "peer_published": harness.peer_published(),
        }
        for kind in harness.databases(args):
            results["databases"].append(bench_database(kind, cfg, run))
    if args.with_peer:
        results["peer_run"] = run_peer(run.results_dir or Path(args.results_dir))
    results["run_s"] = run.elapsed()
    table, summary = report(results, cfg)
    results.update(summary)
    results["table"] = table
    json_path = run.save(results, latest="latest.json")
    print(table)
    print(f"\nresults: {json_path}  logs: {run.logs}")

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
