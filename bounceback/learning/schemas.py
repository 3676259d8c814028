"""API schemas of the learning app that other apps' routers answer with."""

from __future__ import annotations

from decimal import Decimal

from ninja import Field, Schema

from bounceback.learning.selectors import Duplicate, SimilarCase


class SimilarGestureOut(Schema):
    kind: str
    value: Decimal
    currency: str


class SimilarCaseOut(Schema):
    case_id: int
    reference: str
    summary: str
    status: str
    failure_mode_id: int | None
    similarity: float = Field(..., description="Combined word and meaning cosine, -1 to 1")
    apologised: bool
    apology_score: int | None
    fix: str = Field(..., description="How it was fixed (the fix summary)")
    what_was_done: str
    root_cause: str
    gestures: list[SimilarGestureOut] = Field(..., description="Gestures in effect")
    satisfied: bool | None = Field(..., description="The follow-up answer; null when none")
    will_return: bool | None
    follow_up_comment: str
    outcome: str = Field(..., description="How it ended, in words")


def similar_out(found: SimilarCase) -> dict[str, object]:
    case = found.case
    return {
        "case_id": case.pk,
        "reference": case.reference or "",
        "summary": case.summary,
        "status": case.status,
        "failure_mode_id": case.failure_mode_id,
        "similarity": found.similarity,
        "apologised": found.apologised,
        "apology_score": found.apology_score,
        "fix": found.fix,
        "what_was_done": found.what_was_done,
        "root_cause": found.root_cause,
        "gestures": [g.__dict__ for g in found.gestures],
        "satisfied": found.satisfied,
        "will_return": found.will_return,
        "follow_up_comment": found.follow_up_comment,
        "outcome": found.outcome,
    }


class DuplicateOut(Schema):
    case_id: int
    reference: str
    summary: str
    status: str
    customer_id: int
    reason: str = Field(
        ..., description="same_text (the same words within 30 days) or same_customer (open, alike)"
    )
    similarity: float


def duplicate_out(found: Duplicate) -> dict[str, object]:
    case = found.case
    return {
        "case_id": case.pk,
        "reference": case.reference or "",
        "summary": case.summary,
        "status": case.status,
        "customer_id": case.customer_id,
        "reason": found.reason,
        "similarity": found.similarity,
    }
