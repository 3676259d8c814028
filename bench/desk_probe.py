"""The desk at scale: the VIP-first inbox order and a bulk close of thousands of cases.

Seeds 100,000 cases the way bench/inbox_probe.py does (its `seed`), puts a
fifth of the customers into three segments, then times:

- the inbox in the segment view and the "Segment, VIP first" order (first
  page and a page 20 pages deep), p50 over --reps calls, with the queries;
- `cases_bulk_apply` closing --close cases at once (each fixed, followed up and
  documented, with a running timer), the set-based chunks, in one call.

    BOUNCEBACK_DATA_DIR=$(mktemp -d) python bench/desk_probe.py [--cases 100000] [--close 10000]

SQLite only (a temporary data directory); results print as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _timed(call: Any, reps: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(reps):
        with CaptureQueriesContext(connection) as seen:
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        queries = len(seen.captured_queries)
    return {"p50_ms": round(statistics.median(times), 1), "queries": queries}


def _segments(share: float = 0.2) -> int:
    from django.utils import timezone

    from bounceback.bulk import bulk_insert
    from bounceback.customers.models import Customer
    from bounceback.segments.models import Segment, SegmentMembership

    segments = [
        Segment.objects.create(name=name, slug=slug, priority=priority)
        for name, slug, priority in (("VIP", "vip", 1), ("Loyal", "loyal", 20), ("New", "new", 90))
    ]
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    members = ids[: int(len(ids) * share)]
    bulk_insert(
        SegmentMembership,
        varying={
            "customer_id": members,
            "segment_id": [segments[i % 3].pk for i in range(len(members))],
        },
        constant={"since": timezone.now()},
    )
    return len(members)


def _closable(n: int) -> list[int]:
    """n open cases ready to close (fixed, followed up, documented), each with a timer."""
    from datetime import timedelta

    from django.utils import timezone

    from bounceback.bulk import allocate_ids, bulk_insert
    from bounceback.cases.models import Case
    from bounceback.customers.models import Customer
    from bounceback.timers.models import Timer

    now = timezone.now()
    customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    ids = allocate_ids(Case, n)
    bulk_insert(
        Case,
        varying={"id": ids, "reference": [f"BB-{pk:05d}" for pk in ids]},
        constant={
            "customer_id": customer,
            "summary": "Power cut at the hall",
            "channel": "email",
            "severity": "normal",
            "status": "following_up",
            "apologised_at": now - timedelta(days=3),
            "fixed_at": now - timedelta(days=2),
            "follow_up_sent_at": now - timedelta(days=1),
            "documented_at": now - timedelta(hours=1),
        },
        now=now,
    )
    bulk_insert(
        Timer,
        varying={"id": allocate_ids(Timer, n), "subject_id": ids},
        constant={
            "subject_type": "case",
            "kind": "follow_up",
            "state": "running",
            "target_seconds": 86400,
            "started_at": now,
            "due_at": now + timedelta(days=1),
            "escalation_level": 0,
            "fire_attempts": 0,
        },
        now=now,
    )
    return ids


def child(n_cases: int, n_close: int, reps: int) -> None:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceback.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from inbox_probe import seed

    from bounceback.accounts.models import User
    from bounceback.cases.inbox import InboxQuery, cases_inbox_page
    from bounceback.cases.models import Case
    from bounceback.cases.services import BulkAction, cases_bulk_apply

    info = seed(n_cases)
    info["segment_members"] = _segments()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.get(pk=info["user"])
    figures: dict[str, Any] = {}
    for name, query in {
        "segment view": InboxQuery(view="segment", sort="segment"),
        "all open, VIP first": InboxQuery(view="all", sort="segment"),
        "all open, next due (for comparison)": InboxQuery(view="all"),
    }.items():
        figures[f"{name}, page 1"] = _timed(
            lambda q=query: cases_inbox_page(user=user, query=q), reps
        )
        after = None
        for _ in range(20):
            after = cases_inbox_page(user=user, query=query, after=after, counts=False).next_after
        figures[f"{name}, page 21"] = _timed(
            lambda q=query, a=after: cases_inbox_page(user=user, query=q, after=a), reps
        )
    ids = _closable(n_close)
    cases = list(Case.objects.select_related("customer").filter(pk__in=ids))
    t0 = time.perf_counter()
    outcome = cases_bulk_apply(cases=cases, action=BulkAction.CLOSE, actor=user)
    seconds = time.perf_counter() - t0
    figures[f"bulk close of {n_close:,} cases"] = {
        "seconds": round(seconds, 2),
        "cases_per_s": round(len(outcome.done) / seconds),
        "closed": len(outcome.done),
        "refused": len(outcome.refused),
    }
    print(json.dumps({"seed": info, "figures": figures}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--close", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    child(args.cases, args.close, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
