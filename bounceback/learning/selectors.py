"""Reads of the learning app: a case's words, and the past cases most like it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Prefetch

from bounceback.cases.models import Case
from bounceback.funds.models import Grant
from bounceback.learning import index, text

SIMILAR_LIMIT = 5


def case_words(case: Case) -> str:
    """The text a case is compared by: what the customer said went wrong."""
    parts = (case.summary, case.description, case.what_went_wrong)
    return "\n".join(p for p in parts if p)


@dataclass
class Gesture:
    kind: str
    value: Decimal
    currency: str


@dataclass
class SimilarCase:
    """A past case like the one in hand: what was done, and how it ended."""

    case: Case
    similarity: float
    apologised: bool
    apology_score: int | None
    fix: str
    gestures: list[Gesture] = field(default_factory=list)
    satisfied: bool | None = None
    will_return: bool | None = None
    follow_up_comment: str = ""
    what_was_done: str = ""
    root_cause: str = ""

    @property
    def outcome(self) -> str:
        """How it ended, in a few words a person reads at a glance."""
        if self.satisfied is None:
            return "closed, no follow-up answer" if not self.case.is_open else "still open"
        if self.satisfied:
            return "satisfied, will come back" if self.will_return else "satisfied"
        return "unhappy, will not come back" if self.will_return is False else "unhappy"


def _query(case: Case, current: index.Index) -> np.ndarray:
    _, rows = index.full_rows(current, [case.pk])
    if len(rows):
        return np.asarray(rows[0])
    # Not vectorised yet (opened in the last seconds): make its vector now.
    return index.query_row(current, text.vectors([case_words(case)])[0])


def similar_cases(*, case: Case, limit: int = SIMILAR_LIMIT) -> list[SimilarCase]:
    """The `limit` past cases most like `case`, best first (three queries after the index)."""
    current = index.current()
    found = index.nearest(current, _query(case, current), limit, exclude={case.pk})
    if not found:
        return []
    grants = Grant.objects.in_effect().only("case_id", "kind", "value", "currency")
    rows = Case.objects.select_related("failure_mode").prefetch_related(
        Prefetch("grants", queryset=grants, to_attr="gestures_made")
    )
    by_id = {c.pk: c for c in rows.filter(pk__in=[pk for pk, _ in found])}
    out = []
    for pk, score in found:
        other = by_id.get(pk)
        if other is None:
            continue
        out.append(
            SimilarCase(
                case=other,
                similarity=round(score, 4),
                apologised=other.apologised_at is not None,
                apology_score=other.apology_score,
                fix=other.fix_summary,
                gestures=[
                    Gesture(kind=g.kind, value=g.value, currency=g.currency)
                    for g in other.gestures_made  # type: ignore[attr-defined]
                ],
                satisfied=other.satisfied,
                will_return=other.will_return,
                follow_up_comment=other.follow_up_comment,
                what_was_done=other.what_was_done,
                root_cause=other.root_cause,
            )
        )
    return out
