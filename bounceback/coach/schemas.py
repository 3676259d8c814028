"""The coach's result in the API, shared by the case and playbook endpoints (one schema
name each in the OpenAPI document)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ninja import Field

from bounceback.api.schemas import Schema
from bounceback.coach.scoring import CoachResult


class FindingOut(Schema):
    code: str
    kind: str = Field(..., description="problem, missing (a quality not found) or good")
    message: str
    suggestion: str = ""
    excerpt: str = Field("", description="The words that set the finding off")
    sentence: str = Field(
        "", description="The sentence at fault, as written; empty for what is missing"
    )


class CoachOut(Schema):
    score: int | None = Field(..., description="0 to 100; null when the language is not scored")
    threshold: int
    passed: bool = Field(..., description="At or above the threshold, or not scored")
    scored: bool = Field(..., description="False for a language the coach does not read")
    language: str = Field(..., description="The draft's language (ISO 639-1), detected or given")
    components: dict[str, int] = Field(
        ..., description="Apology, ownership, fix and prevention, each out of 25"
    )
    findings: list[FindingOut]
    rewrite: str = Field(
        "",
        description="A suggested draft from the agent's text and the case's facts; empty when "
        "there is nothing to improve",
    )


def coach_out(result: CoachResult) -> dict[str, Any]:
    return {
        "score": result.score,
        "threshold": result.threshold,
        "passed": result.passed,
        "scored": result.scored,
        "language": result.language,
        "components": result.components,
        "findings": [asdict(f) for f in result.findings],
        "rewrite": result.rewrite,
    }
