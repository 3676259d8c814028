"""The negativity scorer on text it was never trained or tuned on, beside VADER.

Two measures, each printed beside VADER (vaderSentiment, a dev dependency; its
compound score negated) and a word count baseline from the same run:

  - ROC AUC for negative vs not on ../shared/data/real/airline_tweets_2015.csv
    (14,640 tweets to US airlines, February 2015, labelled by people as
    negative, neutral or positive). The scorer never saw these tweets.
  - ROC AUC on the held-out part of its own labelled set
    (bounceback/discovery/data/test.jsonl).

And the scoring time per text on this CPU once the model is loaded.

usage: .venv/bin/python bench/negativity.py [--results-dir DIR]
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import harness

harness.use_checkout()

import numpy as np  # noqa: E402

from bounceback.discovery.negativity import scores  # noqa: E402
from bounceback.discovery.train import auc  # noqa: E402

TWEETS = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "real"
    / "airline_tweets_2015.csv"
)
HELD_OUT = Path(__file__).resolve().parents[1] / "bounceback" / "discovery" / "data" / "test.jsonl"
GOAL = 0.90


def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: -analyzer.polarity_scores(text)["compound"]


def measure(texts: list[str], labels: list[int]) -> dict[str, float]:
    y = np.asarray(labels)
    vader = _vader()
    with harness.Phase(f"scoring {len(texts)} texts") as phase:
        start = time.perf_counter()
        ours = np.asarray([s or 0.0 for s in scores(texts)])
        elapsed = time.perf_counter() - start
    return {
        "n": len(texts),
        "negative": int(y.sum()),
        "ours": auc(y, ours),
        "vader": auc(y, np.asarray([vader(t) for t in texts])),
        "words": auc(y, np.asarray([float(len(t.split())) for t in texts])),
        "ms_per_text": 1000 * elapsed / max(1, len(texts)),
        "timing_warning": phase.warning,
    }


def main() -> int:
    parser = harness.parser(__doc__ or "")
    harness.add_outputs(parser)
    args = parser.parse_args()
    scores(["warm up the model"])
    results: dict[str, Any] = {}
    if TWEETS.exists():
        with TWEETS.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        results["airline_tweets"] = measure(
            [r["text"] for r in rows], [int(r["airline_sentiment"] == "negative") for r in rows]
        )
    held = [json.loads(line) for line in HELD_OUT.read_text().splitlines()]
    results["held_out"] = measure([r["text"] for r in held], [int(r["negative"]) for r in held])
    print(f"{'':40s} {'ours':>6s} {'VADER':>6s} {'words':>6s}")
    for name, label in (
        ("airline_tweets", "airline tweets, negative vs not"),
        ("held_out", "own held-out set"),
    ):
        if name in results:
            r = results[name]
            title = f"{label} (n={r['n']})"
            print(f"{title:40s} {r['ours']:6.3f} {r['vader']:6.3f} {r['words']:6.3f}")
    if "airline_tweets" in results:
        r = results["airline_tweets"]
        verdict = "met" if r["ours"] >= GOAL else "NOT met"
        print(
            f"goal: ROC AUC >= {GOAL} on the airline tweets: {verdict}; "
            f"{r['ms_per_text']:.2f} ms per text"
            + (f"  [{r['timing_warning']}]" if r.get("timing_warning") else "")
        )
    harness.Run("negativity", results_dir=args.results_dir, keep=False).save(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
