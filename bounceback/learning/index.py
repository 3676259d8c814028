"""Exact-enough search over every case's vector, cached in the process.

The full search rows (text.DIM floats) of 100,000 cases are half a gigabyte:
one pass over them costs more than the 100 ms a lookup may take on a busy
2-core machine. So the process keeps only a reduced copy (REDUCED_DIM
dimensions, the top principal directions of the rows), finds CANDIDATES
there with one matrix-vector product, and ranks those exactly with their
full rows, read from the table by primary key. On the CFPB narratives a
256-dimension copy alone loses under 0.01 of precision at 5 against the full
rows, and the 30 candidates re-ranked exactly recover most of that; reading
30 rows instead of 200 keeps a lookup's I/O small (bench/learning.py).

Freshness: each lookup asks for the latest `updated_at` (an indexed MAX);
rows changed since are read and patched in with the cached weights. The
whole index (IDF weights, projection) is rebuilt when the patch would be more
than a fifth of it. Deleted cases may linger in the reduced copy until then;
their full rows are gone, so they are never answered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db.models import Max

from bounceback.learning import text
from bounceback.learning.models import CaseText

REDUCED_DIM = text.REDUCED_DIM
CANDIDATES = text.CANDIDATES
_CHUNK = 2000


@dataclass
class Index:
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reduced: np.ndarray = field(default_factory=lambda: np.zeros((0, REDUCED_DIM), np.float32))
    weights: np.ndarray = field(default_factory=lambda: np.ones(text.WORD_DIM, np.float32))
    projection: np.ndarray = field(default_factory=lambda: np.zeros((REDUCED_DIM, text.DIM)))
    latest: datetime | None = None


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


def _build(ids: np.ndarray, raw: np.ndarray) -> Index:
    weights = text.idf(raw[:, : text.WORD_DIM])
    full = text.search_matrix(raw, weights)
    projection = text.reduction(full)
    return Index(ids=ids, reduced=full @ projection.T, weights=weights, projection=projection)


def current() -> Index:
    """The index as the table stands now (one indexed MAX when nothing changed)."""
    global _index
    latest = CaseText.objects.filter(version=text.VERSION).aggregate(at=Max("updated_at"))["at"]
    index = _index
    if latest == index.latest:
        return index
    with _lock:
        index = _index
        if latest == index.latest:
            return index
        ids, raw = _read(index.latest)
        if index.latest is None or len(ids) > 0.2 * len(index.ids):
            fresh = _build(*(_read(None) if index.latest is not None else (ids, raw)))
        else:
            keep = ~np.isin(index.ids, ids)
            rows = text.search_matrix(raw, index.weights) @ index.projection.T
            fresh = Index(
                ids=np.concatenate([index.ids[keep], ids]),
                reduced=np.vstack([index.reduced[keep], rows]),
                weights=index.weights,
                projection=index.projection,
            )
        fresh.latest = latest
        _index = fresh
        return fresh


def full_rows(index: Index, case_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, full search rows) of the given cases that have a vector, in the index's weights."""
    found = dict(
        CaseText.objects.filter(case_id__in=case_ids, version=text.VERSION).values_list(
            "case_id", "vector"
        )
    )
    ids = np.asarray([i for i in case_ids if i in found], dtype=np.int64)
    if not len(ids):
        return ids, np.zeros((0, text.DIM), dtype=np.float32)
    raw = np.vstack([decode(found[int(i)]) for i in ids])
    return ids, text.search_matrix(raw, index.weights)


def query_row(index: Index, stored: np.ndarray) -> np.ndarray:
    """A stored vector as a full search row in the index's weights."""
    return text.search_matrix(stored.reshape(1, -1), index.weights)[0]


def nearest(
    index: Index, query: np.ndarray, k: int, exclude: set[int], candidates: int = CANDIDATES
) -> list[tuple[int, float]]:
    """The k case ids most similar to the full search row `query`, best first."""
    if not len(index.ids):
        return []
    coarse = index.reduced @ (index.projection @ query)
    want = min(len(coarse), candidates + len(exclude))
    top = np.argpartition(-coarse, want - 1)[:want] if want < len(coarse) else np.arange(want)
    picked = [int(index.ids[i]) for i in top if int(index.ids[i]) not in exclude]
    ids, rows = full_rows(index, picked)
    if not len(ids):
        return []
    scores = rows @ query
    order = np.argsort(-scores)[:k]
    return [(int(ids[i]), float(scores[i])) for i in order]


def reset() -> None:
    """Forget the cache (tests; a process that changed the text model)."""
    global _index
    with _lock:
        _index = Index()
