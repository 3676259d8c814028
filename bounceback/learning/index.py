"""The search matrix of every case's vector, cached in the process.

Exact search: one matrix-vector product over all cases (numpy, float32) is
fast enough at 100,000 cases (bench/learning.py), needs no vector index in
either database, and gives the same answer on SQLite and PostgreSQL.

The cache is checked against the table on every search with one aggregate
(count and latest change); rows changed since are read and patched in, and the
whole matrix is read again (with fresh IDF weights) when more than a fifth of
it is new or after REBUILD_AFTER.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db.models import Count, Max

from bounceback.learning import text
from bounceback.learning.models import CaseText

REBUILD_AFTER = 600.0
_CHUNK = 5000


@dataclass
class Index:
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, text.DIM), dtype=np.float32))
    weights: np.ndarray = field(default_factory=lambda: np.ones(text.WORD_DIM, dtype=np.float32))
    count: int = 0
    latest: datetime | None = None
    built: float = 0.0
    position: dict[int, int] = field(default_factory=dict)

    def row(self, case_id: int) -> np.ndarray | None:
        at = self.position.get(case_id)
        return None if at is None else self.matrix[at]


_lock = threading.Lock()
_index = Index()


def decode(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float32)


def _read(since: datetime | None) -> tuple[np.ndarray, np.ndarray]:
    rows = CaseText.objects.filter(version=text.VERSION)
    if since is not None:
        rows = rows.filter(updated_at__gt=since)
    ids: list[int] = []
    blobs: list[np.ndarray] = []
    for case_id, blob in (
        rows.order_by("case_id").values_list("case_id", "vector").iterator(chunk_size=_CHUNK)
    ):
        ids.append(case_id)
        blobs.append(decode(blob))
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, text.DIM), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.vstack(blobs)


def current() -> Index:
    """The index as the table stands now (one aggregate query when nothing changed)."""
    global _index
    state = CaseText.objects.filter(version=text.VERSION).aggregate(
        n=Count("case_id"), latest=Max("updated_at")
    )
    index = _index
    if state["n"] == index.count and state["latest"] == index.latest:
        return index
    with _lock:
        index = _index
        stale = time.monotonic() - index.built > REBUILD_AFTER
        fresh = None
        if index.latest is not None and not stale and state["n"] <= index.count * 1.2 + 100:
            ids, raw = _read(index.latest)
            fresh = _patched(index, ids, raw)
            if len(fresh.ids) != state["n"]:
                fresh = None  # rows were deleted: only a full read drops them
        if fresh is None:
            ids, raw = _read(None)
            weights = text.idf(raw[:, : text.WORD_DIM]) if len(ids) else index.weights
            fresh = Index(ids=ids, matrix=text.search_matrix(raw, weights), weights=weights)
            fresh.built = time.monotonic()
        fresh.count, fresh.latest = state["n"], state["latest"]
        fresh.position = {int(c): i for i, c in enumerate(fresh.ids)}
        _index = fresh
        return fresh


def _patched(index: Index, ids: np.ndarray, raw: np.ndarray) -> Index:
    rows = text.search_matrix(raw, index.weights) if len(ids) else raw
    keep = ~np.isin(index.ids, ids)
    return Index(
        ids=np.concatenate([index.ids[keep], ids]),
        matrix=np.vstack([index.matrix[keep], rows]) if len(ids) else index.matrix,
        weights=index.weights,
        built=index.built,
    )


def query_vector(index: Index, stored: np.ndarray) -> np.ndarray:
    """A case's stored vector in the index's space (for a case not in it yet)."""
    return text.search_matrix(stored.reshape(1, -1), index.weights)[0]


def nearest(index: Index, query: np.ndarray, k: int, exclude: set[int]) -> list[tuple[int, float]]:
    """The k case ids most similar to `query`, best first, with their similarity."""
    if not len(index.ids):
        return []
    scores = index.matrix @ query
    want = min(len(scores), k + len(exclude))
    top = (
        np.argpartition(-scores, want - 1)[:want] if want < len(scores) else np.arange(len(scores))
    )
    top = top[np.argsort(-scores[top])]
    found = [(int(index.ids[i]), float(scores[i])) for i in top if int(index.ids[i]) not in exclude]
    return found[:k]


def reset() -> None:
    """Forget the cache (tests; a process that changed the text model)."""
    global _index
    with _lock:
        _index = Index()
