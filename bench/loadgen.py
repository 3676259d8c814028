"""HTTP load client for the ingest benchmark (stdlib only, loopback only).

usage:
  loadgen.py single --base URL --setup SETUP_JSON --run-id ID --phase P -n N [-c 8]
  loadgen.py bulk   --base URL --setup SETUP_JSON --run-id ID --phase P -n N --batch B [-c 2]
  loadgen.py cases  --base URL --setup SETUP_JSON --run-id ID --phase P -n N [-c 8]
                    [--token-key cases_token]

single  POST /api/transactions/ once per row, C threads in a closed loop (each
        sends its next request as soon as the previous answer is read), one
        keep-alive connection per thread. Success = HTTP 201 (a create).
bulk    POST /api/transactions/bulk with {"items": [B rows]} until N rows are
        sent, C threads. Success = HTTP 200 with every item stored.
cases   POST /api/cases/ once per case (rows.make_case), like single. Success =
        HTTP 201 (a case opened, with its apology timer started).

Every request body is built and JSON-encoded before the clock starts. A phase
stops taking new requests after --time-cap seconds (reported). Results are one
JSON object on stdout: rows/s, req/s, latency percentiles, statuses, CPU split.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import threading
import time
from typing import Any

import procstat
from rows import make_case, make_rows


def percentile(sorted_vals: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(q / 100.0 * len(sorted_vals)))
    return sorted_vals[min(k, len(sorted_vals)) - 1]


def latency_summary(latencies_s: list[float], digits: int = 2) -> dict[str, Any]:
    """Count, percentiles, min, max and mean of durations in seconds, as milliseconds."""
    vals = sorted(latencies_s)
    if not vals:
        return {"n": 0}

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000.0, digits)

    return {
        "n": len(vals),
        "p50_ms": ms(percentile(vals, 50)),
        "p90_ms": ms(percentile(vals, 90)),
        "p99_ms": ms(percentile(vals, 99)),
        "min_ms": ms(vals[0]),
        "max_ms": ms(vals[-1]),
        "mean_ms": ms(sum(vals) / len(vals)),
    }


class Connection:
    """One keep-alive connection; reconnects (and resends once) if the server closed it."""

    def __init__(self, host: str, port: int, token: str, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def post(self, path: str, body: bytes) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=body, headers=self.headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, data, time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server had already closed.
                self.close()
                self.reconnects += 1
                if attempt == 1:
                    raise
                started = time.perf_counter()
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_phase(
    args: argparse.Namespace,
    bodies: list[tuple[bytes, int]],
    path: str,
    check: Any,
    concurrency: int,
    measure: bool,
) -> dict[str, Any]:
    """Send every (body, rows) in bodies from `concurrency` threads; returns the tallies."""
    host, _, port = args.base.removeprefix("http://").rstrip("/").partition(":")
    lock = threading.Lock()
    todo = iter(bodies)
    lat: list[float] = []
    statuses: dict[str, int] = {}
    samples: list[dict[str, Any]] = []
    tally = {
        "rows_ok": 0,
        "requests": 0,
        "reconnects": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    state = {"capped": False}
    started = time.perf_counter()

    def worker() -> None:
        conn = Connection(host, int(port or 80), args.token, args.timeout)
        try:
            while True:
                with lock:
                    if time.perf_counter() - started > args.time_cap:
                        state["capped"] = True
                        return
                    item = next(todo, None)
                if item is None:
                    return
                body, nrows = item
                try:
                    status, data, took = conn.post(path, body)
                except Exception as exc:  # timeout, refused, reset twice
                    status, data, took = 0, f"{type(exc).__name__}: {exc}".encode(), 0.0
                ok, counts = check(status, data, nrows)
                with lock:
                    tally["requests"] += 1
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                    if ok:
                        tally["rows_ok"] += nrows
                        lat.append(took)
                        for key, value in counts.items():
                            tally[key] += value
                    elif len(samples) < 3:
                        samples.append(
                            {"status": status, "body": data[:400].decode("utf-8", "replace")}
                        )
        finally:
            with lock:
                tally["reconnects"] += conn.reconnects
            conn.close()

    snap = procstat.snapshot()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    out: dict[str, Any] = {
        "wall_s": round(wall, 3),
        "requests": tally["requests"],
        "requests_ok": len(lat),
        "errors": tally["requests"] - len(lat),
        "rows_ok": tally["rows_ok"],
        "created": tally["created"],
        "updated": tally["updated"],
        "unchanged": tally["unchanged"],
        "statuses": statuses,
        "error_samples": samples,
        "reconnects": tally["reconnects"],
        "stopped_by_time_cap_s": args.time_cap if state["capped"] else None,
        "req_per_s": round(len(lat) / wall, 2) if wall > 0 else None,
        "rows_per_s": round(tally["rows_ok"] / wall, 1) if wall > 0 else None,
        "latency_ok": latency_summary(lat),
    }
    if measure:
        out["cpu"] = procstat.split(
            snap, procstat.snapshot(), args.root_pid or os.getppid(), args.server_pid
        )
    return out


def check_single(status: int, data: bytes, nrows: int) -> tuple[bool, dict[str, int]]:
    if status == 201:
        return True, {"created": 1}
    return False, {}


def check_bulk(status: int, data: bytes, nrows: int) -> tuple[bool, dict[str, int]]:
    if status != 200:
        return False, {}
    try:
        doc = json.loads(data)
    except ValueError:
        return False, {}
    counts = {k: int(doc.get(k, 0)) for k in ("created", "updated", "unchanged")}
    if doc.get("rejected") or sum(counts.values()) != nrows:
        return False, {}
    return True, counts


# mode: (path, what makes an answer a success)
MODES = {
    "single": ("/api/transactions/", check_single),
    "bulk": ("/api/transactions/bulk", check_bulk),
    "cases": ("/api/cases/", check_single),
}


def request_bodies(
    args: argparse.Namespace,
    customers: list[dict[str, Any]],
    phase: str,
    rows: int,
    variant: int = 0,
) -> list[tuple[bytes, int]]:
    """The JSON bodies of a phase, each with the rows it carries: a case or a row per
    call, or `--batch` rows per bulk call."""
    if args.mode == "cases":
        cases = [make_case(args.run_id, phase, i, customers) for i in range(rows)]
        return [(json.dumps(c).encode(), 1) for c in cases]
    items = make_rows(args.run_id, phase, rows, customers, variant)
    if args.mode == "single":
        return [(json.dumps(r).encode(), 1) for r in items]
    calls = [items[i : i + args.batch] for i in range(0, len(items), args.batch)]
    return [(json.dumps({"items": call}).encode(), len(call)) for call in calls]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("mode", choices=list(MODES))
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--setup", required=True, help="the set-up JSON (token, customers)")
    p.add_argument("--run-id", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("-n", type=int, required=True, help="rows to send (measured)")
    p.add_argument("--batch", type=int, default=1000, help="bulk: items per call")
    p.add_argument("-c", type=int, default=8, help="concurrent connections")
    p.add_argument("--warmup", type=int, default=0, help="unmeasured requests first")
    p.add_argument("--variant", type=int, default=0, help="change about half the rows")
    p.add_argument("--time-cap", type=float, default=120.0)
    p.add_argument("--timeout", type=float, default=300.0, help="per request")
    p.add_argument("--root-pid", type=int, default=0)
    p.add_argument("--server-pid", type=int, default=0)
    p.add_argument("--token-key", default="token", help="which token of the set-up JSON to send")
    args = p.parse_args()
    base = args.base.rstrip("/")
    if not base.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("loadgen only talks to a server on this machine (127.0.0.1)")
    with open(args.setup) as fh:
        setup = json.load(fh)
    args.token = setup[args.token_key]
    customers = setup["customers"]

    out: dict[str, Any] = {
        "mode": args.mode,
        "phase": args.phase,
        "n": args.n,
        "concurrency": args.c,
        "variant": args.variant,
    }
    path, check = MODES[args.mode]
    bodies = request_bodies(args, customers, args.phase, args.n, args.variant)
    if args.mode == "bulk":
        out["batch"] = args.batch
        out["body_bytes_mean"] = round(sum(len(b) for b, _ in bodies) / max(1, len(bodies)))
    if args.warmup:
        rows_per_call = args.batch if args.mode == "bulk" else 1
        warm = request_bodies(args, customers, args.phase + "-warmup", args.warmup * rows_per_call)
        run_phase(args, warm, path, check, args.c, measure=False)
    out.update(run_phase(args, bodies, path, check, args.c, measure=True))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
