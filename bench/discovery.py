"""Discovery: spike detection on planted and real spikes, signal ingest, scan speed.

1. Synthetic quarter: a generator of our own (bounceback/discovery/synthetic.py)
   writes 13 weeks of seasonal background (hour-of-day and weekday shapes,
   overdispersed days) for BENCH_SERIES sites, and plants spikes of known size
   in the last 9 weeks (the first four are history). One scan over those 9
   weeks, as the worker's clock would run it bucket by bucket, gives recall
   (planted spikes found), precision, the delay from the spike's start to the
   end of the first bucket that raised it, and false-alarm days per series per
   quarter (goal: at most one).
2. Real data: the airline tweets (../shared/data/real/airline_tweets_2015.csv)
   loaded as signals (product = airline, category = the negative reason), and
   the spikes a scan finds between 20 and 25 February 2015 (the surge for one
   airline on 22-23 February).
3. Ingest: signals_record_many of BENCH_INGEST signals in calls of 10,000
   beside a raw executemany INSERT of the same rows into a plain table, same
   run (goal: at least 25% of raw).
4. Scan speed: a scan over BENCH_SCAN_SIGNALS signals (hourly and daily, all
   four dimensions).

Runs on SQLite in a scratch data directory, or on the database DATABASE_URL
names (which it migrates and fills: give it a scratch one).

usage: .venv/bin/python bench/discovery.py [--results-dir DIR]
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness

if "DATABASE_URL" not in os.environ:
    os.environ["BOUNCEBACK_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-discovery-")
os.environ.setdefault("TIME_ZONE", "UTC")
harness.setup_django(migrate=True)

from django.db import connection  # noqa: E402

from bounceback.discovery import spikes  # noqa: E402
from bounceback.discovery.synthetic import Planted, generate  # noqa: E402
from bounceback.signals.models import Signal  # noqa: E402
from bounceback.signals.services import signals_record_many, signals_scorer_register  # noqa: E402

SERIES = int(os.environ.get("BENCH_SERIES", "12"))
INGEST = int(os.environ.get("BENCH_INGEST", "20000"))
SCAN_SIGNALS = int(os.environ.get("BENCH_SCAN_SIGNALS", "200000"))
TWEETS = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "real"
    / "airline_tweets_2015.csv"
)
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday


def _store(items: list[dict[str, Any]], chunk: int = 10_000) -> None:
    for start in range(0, len(items), chunk):
        result = signals_record_many(items=items[start : start + chunk])
        assert not result.errors, result.errors[:3]


def _reset() -> None:
    Signal.objects.all().delete()


def synthetic() -> dict[str, Any]:
    import random

    rng = random.Random(7)
    levels = {f"site-{i:02d}": rng.choice([2, 4, 8, 15, 30, 60]) for i in range(SERIES)}
    planted: list[Planted] = []
    for name, level in levels.items():
        for _ in range(2):
            day = 30 + rng.randrange(58)
            hour = rng.choice([8, 10, 13, 16, 19])
            # Known sizes: from a third of a day's usual traffic to a whole day's, in 3 hours.
            extra = max(6, int(level * rng.choice([0.35, 0.5, 0.75, 1.0])))
            planted.append(Planted(name, START + timedelta(days=day, hours=hour), 3, extra))
    items = generate(start=START, days=91, series=levels, spikes=planted, seed=3)
    _reset()
    _store(items)
    t0 = time.perf_counter()
    found, _ = spikes.scan(
        since=START + timedelta(days=28), until=START + timedelta(days=91), dimensions=["site"]
    )
    scan_s = time.perf_counter() - t0
    from bounceback.sites.models import Site

    codes = {str(pk): code for pk, code in Site.objects.values_list("pk", "code")}
    found = [
        spikes.Spike(
            f.dimension, codes.get(f.value, f.value), f.bucket, f.at, f.count, f.baseline, f.p_value
        )
        for f in found
    ]
    hits: dict[int, float] = {}
    true_days: set[tuple[str, str]] = set()
    false_days: set[tuple[str, str]] = set()
    for spike in found:
        end = spike.at + spikes.BUCKETS[spike.bucket]
        match = None
        for index, p in enumerate(planted):
            window_end = p.at + timedelta(hours=p.hours)
            if p.series == spike.value and spike.at < window_end and end > p.at:
                match = index
        day = (spike.value, spike.at.date().isoformat())
        if match is None:
            false_days.add(day)
            continue
        true_days.add(day)
        delay = (end - planted[match].at).total_seconds() / 3600
        hits[match] = min(hits.get(match, delay), delay)
    false_days -= true_days
    delays = sorted(hits.values())
    quarters = 63 / 91
    return {
        "series": SERIES,
        "signals": len(items),
        "planted": len(planted),
        "found": len(hits),
        "recall": len(hits) / len(planted),
        "precision_days": len(true_days) / max(1, len(true_days) + len(false_days)),
        "false_alarm_days": len(false_days),
        "false_alarm_days_per_series_per_quarter": len(false_days) / SERIES / quarters,
        "worst_false_series_per_quarter": max(
            [sum(1 for s, _ in false_days if s == name) / quarters for name in levels] or [0]
        ),
        "delay_hours_median": delays[len(delays) // 2] if delays else None,
        "delay_hours_max": delays[-1] if delays else None,
        "missed": [
            {
                "series": p.series,
                "at": p.at.isoformat(),
                "extra": p.extra,
                "level": levels[p.series],
            }
            for i, p in enumerate(planted)
            if i not in hits
        ],
        "scan_seconds": scan_s,
    }


def airline() -> dict[str, Any]:
    if not TWEETS.exists():
        return {"skipped": "no airline tweets file"}
    with TWEETS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    items = []
    seen: set[str] = set()
    for row in rows:
        if row["tweet_id"] in seen:
            continue  # the file repeats some tweets
        seen.add(row["tweet_id"])
        at = datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z")
        items.append(
            {
                "source": "twitter",
                "external_id": row["tweet_id"],
                "kind": "mention",
                "occurred_at": at.isoformat(),
                "product": row["airline"],
                "category": row["negativereason"],
                "channel": "twitter",
                "author": row["name"],
                "text": row["text"],
            }
        )
    _reset()
    _store(items)
    found, _ = spikes.scan(
        since=datetime(2015, 2, 19, tzinfo=UTC), until=datetime(2015, 2, 25, tzinfo=UTC)
    )
    listed = [
        {
            "at": s.at.isoformat(),
            "bucket": s.bucket,
            "dimension": s.dimension,
            "value": s.value,
            "count": s.count,
            "baseline": s.baseline,
            "p": s.p_value,
        }
        for s in found
    ]
    surge = [
        s
        for s in listed
        if s["dimension"] == "product" and s["at"][:10] in ("2015-02-22", "2015-02-23")
    ]
    days = {(s["dimension"], s["value"], s["at"][:10]) for s in listed}
    return {
        "tweets": len(items),
        "spikes": listed,
        "surge_spikes": surge,
        "spike_days": sorted(days),
    }


def ingest() -> dict[str, Any]:
    signals_scorer_register(lambda texts: [None] * len(texts))  # the insert path, not the model
    base = START + timedelta(days=400)
    items = [
        {
            "source": "bench",
            "external_id": f"I-{n}",
            "kind": "survey",
            "nps": n % 11,
            "occurred_at": (base + timedelta(seconds=n)).isoformat(),
            "product": f"p{n % 50}",
            "channel": "email",
            "text": "The parcel was late again",
        }
        for n in range(INGEST)
    ]
    _reset()
    t0 = time.perf_counter()
    _store(items)
    ours = time.perf_counter() - t0
    # Raw: the same rows, already typed, into a plain table with one executemany.
    rows = [
        (
            i["source"],
            i["external_id"],
            i["kind"],
            i["nps"],
            i["occurred_at"],
            i["product"],
            i["channel"],
            i["text"],
        )
        for i in items
    ]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_signal")
        cursor.execute(
            "CREATE TABLE bench_raw_signal (id integer primary key, source text, external_id text,"
            " kind text, nps integer, occurred_at text, product text, channel text, body text)"
        )
        t0 = time.perf_counter()
        for start in range(0, len(rows), 10_000):
            cursor.executemany(
                "INSERT INTO bench_raw_signal (source, external_id, kind, nps, occurred_at, "
                "product, channel, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                rows[start : start + 10_000],
            )
        raw = time.perf_counter() - t0
        cursor.execute("DROP TABLE bench_raw_signal")
    return {
        "signals": INGEST,
        "ours_per_s": INGEST / ours,
        "raw_per_s": INGEST / raw,
        "ratio": raw / ours,
    }


def scan_speed() -> dict[str, Any]:
    signals_scorer_register(lambda texts: [None] * len(texts))
    _reset()
    base = START
    step = timedelta(days=120) / SCAN_SIGNALS
    batch = []
    for n in range(SCAN_SIGNALS):
        batch.append(
            {
                "source": "scan",
                "external_id": f"X-{n}",
                "kind": "operational",
                "occurred_at": (base + step * n).isoformat(),
                "site": f"s{n % 40}",
                "product": f"p{n % 200}",
                "channel": ("email", "web", "phone")[n % 3],
                "category": f"c{n % 30}",
                "author": f"a{n % 50000}",
            }
        )
        if len(batch) == 10_000:
            _store(batch)
            batch = []
    _store(batch)
    t0 = time.perf_counter()
    found, series = spikes.scan(since=base + timedelta(days=119), until=base + timedelta(days=120))
    return {
        "signals": SCAN_SIGNALS,
        "scan_seconds": time.perf_counter() - t0,
        "series": len(series),
        "spikes": len(found),
    }


def main() -> int:
    parser = harness.parser(__doc__ or "")
    harness.add_outputs(parser)
    args = parser.parse_args()
    results: dict[str, Any] = {"database": connection.vendor}
    results["synthetic"] = s = synthetic()
    print(
        f"[{connection.vendor}] synthetic quarter: {s['signals']} signals in {s['series']} series, "
        f"{s['planted']} planted spikes"
    )
    print(
        f"  recall {s['recall']:.0%} ({s['found']}/{s['planted']}), precision by day "
        f"{s['precision_days']:.0%}, delay median {s['delay_hours_median']} h, max "
        f"{s['delay_hours_max']} h"
    )
    print(
        f"  false-alarm days: {s['false_alarm_days']} in all, "
        f"{s['false_alarm_days_per_series_per_quarter']:.2f} per series per quarter "
        f"(worst series {s['worst_false_series_per_quarter']:.2f}; goal <= 1)"
    )
    for m in s["missed"]:
        print(f"  missed: {m}")
    results["airline"] = a = airline()
    if "skipped" not in a:
        print(
            f"airline tweets ({a['tweets']}): spikes on 22-23 Feb for an airline: "
            f"{[(x['value'], x['at'][:13], x['count'], x['baseline']) for x in a['surge_spikes']]}"
        )
        print(f"  every spike day found 19-25 Feb: {a['spike_days']}")
    with harness.Phase("signal ingest and raw executemany") as phase:
        results["ingest"] = i = ingest()
    print(
        f"ingest: {i['ours_per_s']:.0f} signals/s through signals_record_many, raw executemany "
        f"{i['raw_per_s']:.0f}/s: {i['ratio']:.0%} of raw (goal >= 25%)"
        + (f"  [{phase.warning}]" if phase.warning else "")
    )
    with harness.Phase("scan") as phase:
        results["scan"] = c = scan_speed()
    print(
        f"scan over {c['signals']} signals: {c['scan_seconds']:.1f} s ({c['series']} series)"
        + (f"  [{phase.warning}]" if phase.warning else "")
    )
    harness.Run("discovery", results_dir=args.results_dir, keep=False).save(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
