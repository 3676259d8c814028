"""Measuring the coach on labelled apologies, beside plain baselines.

Shared by bench/coach.py (the report on the held-out third), the training
command (the development set, to place the decision point) and the test that
holds the coach to the issue's goals. The data lives in data/: train.jsonl for
the model, dev.jsonl for tuning, test.jsonl kept aside (see data/README.md).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).with_name("data")
SPLITS = ("train", "dev", "test")

# The goals, on the held-out third.
GOAL_AUC = 0.90
GOAL_PASS = 0.90
GOAL_STOP = 0.90


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    sincere: bool
    defects: tuple[str, ...]
    industry: str
    channel: str
    voice: str
    language: str


def load(split: str) -> list[Item]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    items = []
    for line in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            Item(
                id=row["id"],
                text=row["text"],
                sincere=row["label"] == "sincere",
                defects=tuple(row["defects"]),
                industry=row["industry"],
                channel=row["channel"],
                voice=row["voice"],
                language=row["language"],
            )
        )
    return items


def roc_auc(scores: list[float], positive: list[bool]) -> float:
    """Probability that a random sincere item outscores a random deficient one (ties half)."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    # Rank-based (Mann-Whitney U) with average ranks for ties.
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positive, strict=True) if p)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))


@dataclass
class Result:
    name: str
    auc: float
    pass_rate: float  # sincere at or above the threshold
    stop_rate: float  # deficient below it
    n_sincere: int
    n_deficient: int
    threshold: float
    # Per defect: stopped / labelled; and named (the coach's findings cover it) / labelled.
    stopped: dict[str, tuple[int, int]] = field(default_factory=dict)
    named: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def meets_goals(self) -> bool:
        return self.auc >= GOAL_AUC and self.pass_rate >= GOAL_PASS and self.stop_rate >= GOAL_STOP


def measure(
    name: str,
    items: list[Item],
    scores: list[float],
    threshold: float,
    named: list[set[str]] | None = None,
) -> Result:
    sincere = [it.sincere for it in items]
    passed = [s >= threshold for s in scores]
    n_s = sum(sincere)
    n_d = len(items) - n_s
    result = Result(
        name=name,
        auc=roc_auc(scores, sincere),
        pass_rate=sum(p for p, s in zip(passed, sincere, strict=True) if s) / max(n_s, 1),
        stop_rate=sum(not p for p, s in zip(passed, sincere, strict=True) if not s) / max(n_d, 1),
        n_sincere=n_s,
        n_deficient=n_d,
        threshold=threshold,
    )
    for i, it in enumerate(items):
        for defect in it.defects:
            stop, total = result.stopped.get(defect, (0, 0))
            result.stopped[defect] = (stop + (not passed[i]), total + 1)
            if named is not None:
                hit, total = result.named.get(defect, (0, 0))
                result.named[defect] = (hit + (defect in named[i]), total + 1)
    return result


def best_threshold(scores: list[float], sincere: list[bool], sincere_weight: float = 0.5) -> float:
    """The cut that maximises the weighted mean of the pass and stop rates (`sincere_weight`
    on the pass rate); the middle of the best gap."""
    values = sorted(set(scores))
    if not values:
        return 0.0
    cuts = [values[0] - 1.0]
    cuts += [(a + b) / 2.0 for a, b in itertools.pairwise(values)]
    cuts.append(values[-1] + 1.0)
    n_s = max(sum(sincere), 1)
    n_d = max(len(sincere) - sum(sincere), 1)

    def balanced(cut: float) -> float:
        ok_s = sum(1 for v, s in zip(scores, sincere, strict=True) if s and v >= cut)
        ok_d = sum(1 for v, s in zip(scores, sincere, strict=True) if not s and v < cut)
        return sincere_weight * ok_s / n_s + (1.0 - sincere_weight) * ok_d / n_d

    rated = [(balanced(c), c) for c in cuts]
    best = max(r for r, _ in rated)
    tops = [c for r, c in rated if r >= best - 1e-12]
    return (tops[0] + tops[-1]) / 2.0


# --- Baselines ------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def length_score(text: str) -> float:
    """Longer is better: the baseline any coach must beat."""
    return float(len(_WORD.findall(text)))


def lexicon_scorer() -> tuple[str, Callable[[str], float]]:
    """VADER's compound sentiment (the vaderSentiment package, a dev dependency), or, without
    it, a small positive/negative word count of our own; the name says which ran."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return "own word list", _own_lexicon
    analyzer = SentimentIntensityAnalyzer()
    return "VADER", lambda text: float(analyzer.polarity_scores(text)["compound"])


def _words(text: str) -> frozenset[str]:
    """A set of words written as one string, as they read."""
    return frozenset(text.split())


_POSITIVE = _words(
    "sorry apologise apologize apologies refund refunded fix fixed free thank thanks "
    "glad happy sincerely truly help resolved replace replaced credit credited "
    "gracias perdón disculpas"
)
_NEGATIVE = _words(
    "unfortunately however but policy unable cannot can't won't not never fault blame "
    "only just inconvenience unavoidable busy"
)


def _own_lexicon(text: str) -> float:
    tokens = [t.lower() for t in _WORD.findall(text)]
    return float(sum(t in _POSITIVE for t in tokens) - sum(t in _NEGATIVE for t in tokens))


# --- Timing ---------------------------------------------------------------------------------------


def latency_ms(
    score: Callable[[str], object], texts: Iterable[str], repeat: int = 3
) -> dict[str, float]:
    """Milliseconds per draft after a warm-up call: median and 95th percentile."""
    texts = list(texts)
    if not texts:
        return {"median": 0.0, "p95": 0.0}
    score(texts[0])
    timings = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            score(text)
            timings.append((time.perf_counter() - start) * 1000.0)
    timings.sort()
    return {
        "median": timings[len(timings) // 2],
        "p95": timings[min(len(timings) - 1, math.ceil(len(timings) * 0.95) - 1)],
    }
