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
postgres://postgres@127.0.0.1:5432/postgres). Prints one JSON line per database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PG_DB = "bounceback_bench_webhooks"


def log(msg: str) -> None:
    print(f"[webhooks bench] {msg}", file=sys.stderr, flush=True)


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
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceback.config.settings")
    django.setup()
    import urllib.request

    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
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
    }


def run_child(env: dict[str, str], events: int, threads: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--inner", str(events), str(threads)]
    out = subprocess.run(
        cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--inner", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(*args.inner)))
        return
    events = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "200" if args.quick else "3000"))
    threads = int(os.environ.get("BENCH_WEBHOOK_THREADS", "4"))
    base = {
        **os.environ,
        "BOUNCEBACK_TASK_BACKEND": os.environ.get("BENCH_TASK_BACKEND", "database"),
        "DJANGO_SETTINGS_MODULE": "bounceback.config.settings",
        "PYTHONPATH": str(REPO),
    }
    base.pop("DATABASE_URL", None)
    results = []
    if not args.postgres_only:
        data_dir = tempfile.mkdtemp(prefix="bb-bench-webhooks-")
        try:
            log(f"SQLite: {events} events, {threads} threads")
            results.append(run_child({**base, "BOUNCEBACK_DATA_DIR": data_dir}, events, threads))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    if not args.sqlite_only:
        import psycopg

        admin = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        data_dir = tempfile.mkdtemp(prefix="bb-bench-webhooks-")
        try:
            log(f"PostgreSQL: {events} events, {threads} threads")
            url = admin.rsplit("/", 1)[0] + f"/{PG_DB}"
            env = {**base, "DATABASE_URL": url, "BOUNCEBACK_DATA_DIR": data_dir}
            results.append(run_child(env, events, threads))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
