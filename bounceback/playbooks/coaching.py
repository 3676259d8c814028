"""The apology coach applied to playbook templates.

A customer hit by a breakdown first reads the apology, then the explanation,
then the alternatives, in one message on one channel in one language; that
composed message is what the coach scores, rendered with sample values.

The bar is the recovery policy for severity "high": playbook messages go to
many customers at once for failures a breakdown declares at high severity by
default, so they meet at least the bar a single high-severity case meets.

The coach reads English and Spanish. Templates in other languages are not
scored (coach_score stays empty) and carry a finding asking for a fluent
reviewer; they are never refused on the coach's account.

The coach's suggested rewrite is made for the apology template itself, with
its placeholders, so the editor can take it: what the explanation and
alternatives already say (the fix, the prevention) is not added to it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from bounceback.cases.models import Severity
from bounceback.cases.policy import policy_for
from bounceback.coach import language as languages
from bounceback.coach.rules import analyse
from bounceback.coach.scoring import (
    CoachContext,
    CoachResult,
    Finding,
    coach_rewrite,
    coach_score,
)
from bounceback.playbooks.models import TemplatePurpose
from bounceback.playbooks.templating import SAMPLE_VALUES, render

# The purposes that make up the first message, in the order the customer reads them.
FIRST_MESSAGE = (TemplatePurpose.APOLOGY, TemplatePurpose.EXPLANATION, TemplatePurpose.ALTERNATIVES)

NOT_SCORED = Finding(
    "not_scored",
    "missing",
    "The apology coach reads English and Spanish, so this translation was not scored.",
    "Ask a fluent speaker to check it says sorry, owns the failure, fixes it and prevents it.",
)


def coach_threshold() -> int:
    return policy_for(severity=Severity.HIGH).apology_threshold


def base_language(language: str) -> str:
    return (language or "en").split("-")[0].lower()


def is_scored(language: str) -> bool:
    """A language the coach reads (English, Spanish); others are not scored."""
    return languages.is_scored(base_language(language))


def sample_values(*, title: str = "") -> dict[str, str]:
    """SAMPLE_VALUES with the breakdown named after this playbook's failure, when known."""
    values = dict(SAMPLE_VALUES)
    if title:
        values["breakdown.title"] = title
    return values


def first_message(parts: Mapping[str, str], values: Mapping[str, str]) -> str:
    """The apology, explanation and alternatives bodies as one rendered message."""
    texts = [render(parts.get(purpose, ""), values).strip() for purpose in FIRST_MESSAGE]
    return "\n\n".join(text for text in texts if text)


def score_first_message(
    *,
    text: str,
    title: str,
    values: Mapping[str, str],
    threshold: int | None = None,
    language: str = "en",
) -> CoachResult:
    context = CoachContext(summary=title, customer_name=values.get("customer.name", ""))
    return coach_score(
        text=text,
        threshold=coach_threshold() if threshold is None else threshold,
        context=context,
        language=base_language(language),
    )


def problems_only(*, text: str, values: Mapping[str, str], language: str = "en") -> list[Finding]:
    """What the coach objects to in a message that is not an apology (an update, the all-clear).

    Only phrasing problems ("any inconvenience", "sorry, but") count: an
    all-clear need not apologise again, so the missing-quality findings would be noise.
    """
    result = coach_score(text=render(text, values), threshold=0, language=base_language(language))
    return [f for f in result.findings if f.kind == "problem" and f.code != "too_short"]


def apology_rewrite(
    *, parts: Mapping[str, str], values: Mapping[str, str], title: str, language: str = "en"
) -> str:
    """The coach's rewrite of the apology template (placeholders kept), leaving to the
    explanation and alternatives what they already say."""
    lang = base_language(language)
    others = "\n\n".join(
        render(parts.get(purpose, ""), values)
        for purpose in (TemplatePurpose.EXPLANATION, TemplatePurpose.ALTERNATIVES)
    )
    report = analyse(others, lang)
    present = {
        "ownership": report.owned,
        "fix": bool(
            report.qualities["fix_done"]
            or report.qualities["fix_future"]
            or report.qualities["compensation"]
        ),
        "time": bool(report.qualities["fix_time"] or report.qualities["fix_done"]),
        "prevention": report.has("prevention"),
    }
    return coach_rewrite(
        text=parts.get(TemplatePurpose.APOLOGY, ""),
        context=CoachContext(summary=title),
        language=lang,
        also_present=frozenset(q for q, ok in present.items() if ok),
    )


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [asdict(f) for f in findings]
