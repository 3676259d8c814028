"""Themes from case vectors: LSA on the search matrix, then k-means (numpy only).

Chosen on the development half of the CFPB narratives (bench/learning.py):
k-means straight on the 1,280-dimension search rows is dragged about by
rare words; a 50-dimension LSA projection (the top right singular vectors of
the rows) keeps what cases share, and spherical k-means there gives themes
that follow the complaint's issue far more closely than TF-IDF or WordLlama
with k-means alone.

`fit` works on a sample (THEME_SAMPLE rows at most) so a recompute stays a
few seconds at 100,000 cases; every case is then assigned to the nearest
centre, and so is each new case as it arrives.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bounceback.learning import text

LSA_DIM = 50
THEME_SAMPLE = 5000
MAX_THEMES = 40


def theme_count(n: int) -> int:
    """How many themes for n cases: about sqrt(n/2), at least 2, at most MAX_THEMES."""
    return max(2, min(MAX_THEMES, round(math.sqrt(n / 2)))) if n >= 4 else 1


@dataclass
class Model:
    projection: np.ndarray  # (LSA_DIM, text.DIM): search row -> theme space
    centres: np.ndarray  # (k, LSA_DIM), unit rows

    def place(self, rows: np.ndarray) -> np.ndarray:
        """Search-matrix rows in the theme space, unit length."""
        return text.normalise(rows @ self.projection.T)

    def assign(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(theme index, cosine to its centre) of each row."""
        if not len(rows):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.place(rows) @ self.centres.T
        best = scores.argmax(1)
        return best, scores[np.arange(len(rows)), best]


def kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, iters: int = 60, restarts: int = 3
) -> np.ndarray:
    """Labels of spherical k-means (k-means++ start, best of `restarts` by cohesion)."""
    n = len(x)
    k = min(k, n)
    best_labels = np.zeros(n, dtype=np.int64)
    best_score = -np.inf
    for r in range(restarts):
        rng = np.random.default_rng(seed + r)
        centres = [x[rng.integers(n)]]
        gap = np.maximum(1.0 - x @ centres[0], 0)
        for _ in range(k - 1):
            total = gap.sum()
            pick = rng.choice(n, p=gap / total) if total > 0 else rng.integers(n)
            centres.append(x[pick])
            gap = np.minimum(gap, np.maximum(1.0 - x @ x[pick], 0))
        c = np.vstack(centres)
        labels = np.zeros(n, dtype=np.int64)
        for step in range(iters):
            sims = x @ c.T
            new = sims.argmax(1)
            if step and np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = x[labels == j]
                if len(members):
                    c[j] = members.sum(0)
            c = text.normalise(c)
        score = float((x @ c.T)[np.arange(n), labels].sum())
        if score > best_score:
            best_score, best_labels = score, labels
    return best_labels


def fit(rows: np.ndarray, k: int | None = None, *, seed: int = 0) -> tuple[Model, np.ndarray]:
    """A theme model from search-matrix rows, and the theme of each row."""
    rng = np.random.default_rng(seed)
    sample = rows if len(rows) <= THEME_SAMPLE else rows[rng.choice(len(rows), THEME_SAMPLE, False)]
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    projection = vt[: min(LSA_DIM, len(vt))].astype(np.float32)
    k = k or theme_count(len(rows))
    placed = text.normalise(sample @ projection.T)
    labels = kmeans(placed, k, seed=seed)
    centres = text.normalise(
        np.vstack([placed[labels == j].sum(0) for j in range(k) if (labels == j).any()])
    )
    model = Model(projection=projection, centres=centres)
    return model, model.assign(rows)[0]


def distinctive_words(
    members: Sequence[Sequence[str]], everyone: Counter[str], total: int, limit: int = 5
) -> list[str]:
    """The terms a group's texts use far more than all texts do (document counts).

    Score: the group's share of documents with the term times the log of how
    much more often the group uses it than everyone (a lift), so a word in
    every complaint (account, called) never labels one theme.
    """
    n = len(members)
    if not n:
        return []
    counts: Counter[str] = Counter()
    for terms in members:
        counts.update(set(terms))
    scored = []
    for term, c in counts.items():
        if c < 2 and n > 2:
            continue
        share = c / n
        lift = share / ((everyone.get(term, c) + 1) / (total + 1))
        if lift > 1:
            scored.append((share * math.log(lift), term))
    scored.sort(reverse=True)
    words: list[str] = []
    for _, term in scored:
        # A phrase and its own words say the same thing twice.
        if any(term in w or w in term for w in words):
            continue
        words.append(term)
        if len(words) == limit:
            break
    return words
