"""Bounceback webhook delivery benchmark (`make bench` may run it after timers.py).

For each database (SQLite in a temporary data directory, PostgreSQL in a fresh
database `bounceback_bench_webhooks` that this run drops, creates and drops),
in a child process configured like the worker:

  1. migrate; one subscription to "*" pointing at a local ThreadingHTTPServer
     that answers 200 and counts what it receives;
  2. publish   BENCH_WEBHOOK_EVENTS events through `webhook_publish` (the call
               case and breakdown services make), in transactions of 100:
               deliveries recorded per second;
  3. deliver   every delivery through `webhook_deliver` (what the worker's
               task runs: claim with a lease, sign, POST, record), from
               BENCH_WEBHOOK_THREADS threads: deliveries per second;
  4. baseline  the same bodies, signed the same way, POSTed with bare urllib
               from the same number of threads to the same server in the same
               run: the ceiling set by HTTP on this machine.

usage: .venv/bin/python bench/webhooks.py [--quick] [--sqlite-only | --postgres-only]

Sizes: BENCH_WEBHOOK_EVENTS (default 3000, --quick 200), BENCH_WEBHOOK_THREADS
(default 4). PostgreSQL: BENCH_PG_ADMIN_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), BENCH_WEBHOOK_PG_DB, BENCH_KEEP=1
to keep the data. Prints one JSON line per database.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import harness
from harness import PY, Config, log

# name: (default, --quick default, help)
CONFIG: harness.ConfigTable = {
    "BENCH_WEBHOOK_EVENTS": ("3000", "200", "events published, then delivered"),
    "BENCH_WEBHOOK_THREADS": ("4", "4", "threads delivering (and posting the baseline)"),
    **harness.database_settings("BENCH_WEBHOOK_PG_DB", "bounceback_bench_webhooks"),
}


class _Counter(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Counter.lock:
            _Counter.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


def inner(events: int, threads: int) -> dict[str, Any]:
    """Runs in the child, with the database chosen by the environment."""
    # The receiver is on this machine: allow loopback, as an administrator would.
    os.environ["BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    harness.setup_django(migrate=True)
    import urllib.request

    from django.db import connection, transaction

    from bounceback.webhooks import signing
    from bounceback.webhooks.events import webhook_publish
    from bounceback.webhooks.models import WebhookDelivery, WebhookSubscription
    from bounceback.webhooks.services import delivery_body, webhook_deliver

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    subscription = WebhookSubscription.objects.create(
        name="bench", url=url, events=["*"], secret=signing.new_secret()
    )
    payload = {
        "case": {
            "id": 1,
            "reference": "BB-00001",
            "status": "new",
            "severity": "normal",
            "channel": "chat",
            "summary": "Parcel lost in the depot",
            "customer": {"id": 1, "name": "Ada Lovelace"},
            "url": "http://127.0.0.1:8000/cases/1/",
        }
    }

    with harness.Phase(f"{connection.vendor} publish"):
        started = time.perf_counter()
        for start in range(0, events, 100):
            with transaction.atomic():
                for _ in range(min(100, events - start)):
                    webhook_publish(event="case.opened", payload=payload)
        publish_s = time.perf_counter() - started
    ids = list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))
    connection.close()

    def deliver(delivery_id: int) -> None:
        from django.db import connection as conn

        webhook_deliver(delivery_id=delivery_id)
        conn.close()

    _Counter.received = 0
    with harness.Phase(f"{connection.vendor} deliver"):
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(deliver, ids))
        deliver_s = time.perf_counter() - started
    succeeded = WebhookDelivery.objects.filter(state="succeeded").count()
    received = _Counter.received

    bodies = [delivery_body(d) for d in WebhookDelivery.objects.order_by("id")]

    def raw(body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            **signing.signed_headers(secret=subscription.secret, body=body),
        }
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            answer.read()

    with harness.Phase(f"{connection.vendor} raw posts"):
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(raw, bodies))
        raw_s = time.perf_counter() - started
    server.shutdown()
    return {
        "database": connection.vendor,
        "events": events,
        "threads": threads,
        "publish_per_s": round(events / publish_s, 1),
        "deliveries_per_s": round(len(ids) / deliver_s, 1),
        "succeeded": succeeded,
        "received": received,
        "raw_posts_per_s": round(len(bodies) / raw_s, 1),
        "service_vs_raw": round((len(ids) / deliver_s) / (len(bodies) / raw_s), 2),
        "contaminated": harness.contaminated(),
    }


def main() -> int:
    parser = harness.parser(__doc__.split("\n")[0])
    parser.add_argument("--inner", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(*args.inner)))
        return 0
    cfg = Config(args.quick, CONFIG)
    events, threads = cfg.str("BENCH_WEBHOOK_EVENTS"), cfg.str("BENCH_WEBHOOK_THREADS")
    results = []
    with harness.Run("webhooks", results_dir=None, keep=cfg.keep) as run:
        for kind in harness.databases(args):
            log(f"{kind}: {events} events, {threads} threads")
            pg_db = cfg.str("BENCH_WEBHOOK_PG_DB")
            with harness.Database(kind, cfg, run.workdir, pg_db=pg_db) as db:
                cmd = [PY, __file__, "--inner", events, threads]
                results.append(harness.run_json(cmd, db.env, 900, f"{kind} webhook bench"))
    for row in results:
        print(json.dumps(row))
        for line in row.get("contaminated") or []:
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
