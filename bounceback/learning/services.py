"""Writes of the learning app: case vectors (and, later, themes and problems)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.learning import text
from bounceback.learning.models import CaseText
from bounceback.learning.selectors import case_words

REFRESH_BATCH = 200


def case_texts_refresh(*, now: datetime | None = None, limit: int = REFRESH_BATCH) -> int:
    """Make the vectors of up to `limit` cases that have none (or an old version's).

    Runs on the worker's clock; idempotent (a row made twice is the same row).
    Returns how many were made.
    """
    now = now or timezone.now()
    missing = list(
        Case.objects.filter(Q(text_vector__isnull=True) | ~Q(text_vector__version=text.VERSION))
        .order_by("id")
        .only("id", "summary", "description", "what_went_wrong")[:limit]
    )
    if not missing:
        return 0
    return len(case_texts_store(cases=missing, now=now))


def case_texts_store(*, cases: list[Case], now: datetime | None = None) -> list[CaseText]:
    """Compute and store the vectors of these cases (replacing older ones)."""
    now = now or timezone.now()
    words = [case_words(c) for c in cases]
    matrix = text.vectors(words)
    rows = [
        CaseText(
            case_id=c.pk,
            vector=np.ascontiguousarray(matrix[i], dtype=np.float32).tobytes(),
            version=text.VERSION,
            digest=CaseText.digest_of(words[i]),
            updated_at=now,
        )
        for i, c in enumerate(cases)
    ]
    with transaction.atomic():
        CaseText.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["case"],
            update_fields=["vector", "version", "digest", "updated_at"],
        )
    return rows
