"""The coach is tested on apologies written apart from its rules and prototypes:
phrasings it has never seen, good and bad, as agents really write them."""

from __future__ import annotations

import pytest

from bounceback.coach.scoring import CoachContext, coach_score

CONTEXT = CoachContext(
    summary="Dance competition stopped by a power cut",
    description="The lights went out during my daughter's routine and nobody told us anything.",
    customer_name="Maria Lopez",
)

SINCERE = [
    "Maria, I'm truly sorry. The power cut stopped your daughter's routine mid-dance and we "
    "left you in the dark with no news, which was our failure. She can perform again first "
    "thing on Saturday and your entry fee is refunded today. We've since put a second "
    "generator on standby and our stage crew now announce any stoppage within a minute.",
    "I apologise, Maria: when the power went out we did not keep the families informed, and "
    "that was wrong of us. I will call you tomorrow morning to book a new slot for the "
    "routine, at no cost. Going forward the venue manager has a written plan for outages so "
    "no competitor is left waiting like that again.",
    "Maria, the power failure during the lyrical category was our responsibility and I am "
    "sorry your daughter's dance was interrupted. We'll reschedule her routine and cover the "
    "travel costs. To prevent a repeat we have booked an electrician to check the supply "
    "before every event.",
]

HOLLOW = [
    "We apologise for any inconvenience caused during the event.",
    "Sorry if you feel the evening did not live up to your expectations.",
    "We are sorry you were upset by the interruption. Power cuts are out of our hands.",
    "It is regrettable that the lights went out. Thank you for your understanding.",
    "Apologies for the trouble, however our terms do not allow refunds for power cuts.",
    "We regret any disruption this may have caused you and your family.",
]


@pytest.mark.parametrize("text", SINCERE)
def test_sincere_apologies_pass(text: str) -> None:
    result = coach_score(text=text, context=CONTEXT, threshold=70)

    assert result.passed, (result.score, result.findings)
    assert not [f for f in result.findings if f.kind == "problem"]


@pytest.mark.parametrize("text", HOLLOW)
def test_non_apologies_and_cliches_fail_with_a_reason(text: str) -> None:
    result = coach_score(text=text, context=CONTEXT, threshold=70)

    assert not result.passed
    assert result.score < 40
    assert any(f.kind == "problem" for f in result.findings)
    assert all(f.suggestion for f in result.findings if f.kind != "good")


def test_each_missing_quality_is_named_with_a_concrete_suggestion() -> None:
    result = coach_score(
        text="I'm sorry about the power cut during your daughter's routine at the competition.",
        context=CONTEXT,
    )

    missing = {f.code for f in result.findings if f.kind == "missing"}
    assert {"no_fix", "no_prevention"} <= missing
    assert result.components["apology"] == 25


def test_an_apology_that_ignores_what_happened_is_marked_not_specific() -> None:
    result = coach_score(
        text="We're very sorry, that was our mistake. We will refund you today and we have "
        "changed our process so it does not happen again.",
        context=CONTEXT,
    )

    assert "not_specific" in {f.code for f in result.findings}
    assert any("power cut" in f.suggestion.lower() for f in result.findings)


def test_without_an_apology_the_score_cannot_pass() -> None:
    result = coach_score(
        text="Your routine is rescheduled for Saturday at ten and the entry fee is refunded. "
        "We added a generator so the lights stay on during future events.",
        context=CONTEXT,
    )

    assert not result.passed
    assert "no_apology" in {f.code for f in result.findings}


def test_typographic_apostrophes_read_like_plain_ones() -> None:
    plain = coach_score(text=SINCERE[0], context=CONTEXT)
    curly = coach_score(text=SINCERE[0].replace("'", "\u2019"), context=CONTEXT)

    assert plain.score == curly.score
