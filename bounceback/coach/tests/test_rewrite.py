"""The suggested rewrite: the agent's own good sentences, the case's facts, and
what was missing; it must pass the coach itself."""

from __future__ import annotations

import pytest

from bounceback.coach import evaluation
from bounceback.coach.scoring import CoachContext, coach_rewrite, coach_score

CASE = CoachContext(
    summary="Table double-booked on Friday night",
    description="We arrived for our anniversary and our table had been given away.",
    customer_name="Dana Price",
    next_step="a table for two is held for you this Saturday at 8 pm, dinner on us",
    update_minutes=20,
)

DEFICIENT = [
    "We apologise for any inconvenience caused. Your feedback is important to us.",
    "Hi Dana, sorry if the mix-up with your table spoiled your evening. We get very busy on "
    "Fridays. Hope to see you again soon!",
    "I'm sorry about Friday, but the booking system is run by a third party. It was only a "
    "short wait in the end.",
    "So sorry our restaurant wasn't up to your refined standards. Use code SORRY10 next time!",
    "Mistakes were made with the booking. I promise this will never happen again.",
    "Sorry about your table. I wasn't on shift that night, the new guy must have given it away.",
]


@pytest.mark.parametrize("text", DEFICIENT)
def test_given_a_deficient_apology_then_its_rewrite_passes_the_coach(text: str) -> None:
    result = coach_score(text=text, context=CASE)

    assert not result.passed
    assert result.rewrite
    rewritten = coach_score(text=result.rewrite, context=CASE)
    assert rewritten.passed, (result.rewrite, rewritten.score, rewritten.findings)
    assert not [f for f in rewritten.findings if f.kind == "problem"]


def test_given_a_draft_then_the_rewrite_keeps_its_good_sentences_and_drops_the_faulty_ones() -> (
    None
):
    text = (
        "Hi Dana, I'm sorry we gave your table away on Friday. The weather was beyond our "
        "control. I've refunded your deposit today."
    )

    rewrite = coach_score(text=text, context=CASE).rewrite

    assert rewrite.startswith("Hi Dana, I'm sorry we gave your table away on Friday.")
    assert "I've refunded your deposit today." in rewrite
    assert "beyond our control" not in rewrite


def test_given_a_conditional_apology_then_the_rewrite_repairs_it() -> None:
    rewrite = coach_score(
        text="Sorry if the mix-up with your table spoiled your evening.", context=CASE
    ).rewrite

    assert "I'm sorry that the mix-up with your table spoiled your evening." in rewrite
    assert "sorry if" not in rewrite.lower()


def test_given_a_sorry_but_then_the_rewrite_keeps_the_apology_before_the_but() -> None:
    rewrite = coach_score(
        text="I'm sorry about your table, but Friday nights are always busy.", context=CASE
    ).rewrite

    assert rewrite.startswith("Dana, i") is False
    assert "I'm sorry about your table." in rewrite
    assert "busy" not in rewrite


def test_given_the_case_facts_then_the_rewrite_uses_them() -> None:
    rewrite = coach_score(text="We apologise for any inconvenience.", context=CASE).rewrite

    assert rewrite.startswith("Dana, I'm sorry about what happened: table double-booked")
    assert "a table for two is held for you this Saturday at 8 pm" in rewrite
    assert "within 20 minutes" in rewrite
    assert "so it does not happen again" in rewrite


def test_given_a_sound_apology_then_there_is_nothing_to_rewrite() -> None:
    text = (
        "Dana, I'm so sorry: we double-booked your table on Friday and gave it away. That was "
        "our mistake. A table for two is held for you on Saturday at 8 pm, dinner on us, and "
        "we now confirm every booking by phone the day before."
    )

    assert coach_score(text=text, context=CASE).rewrite == ""


def test_given_a_spanish_draft_then_the_rewrite_is_in_spanish_and_passes() -> None:
    result = coach_score(
        text="Lamentamos las molestias ocasionadas. Agradecemos su paciencia.",
        context=CoachContext(summary="", customer_name="Lucía Gómez"),
    )

    assert result.language == "es"
    assert "Fue un error nuestro" in result.rewrite
    assert coach_score(text=result.rewrite, language="es").passed


def test_given_a_part_of_a_longer_message_then_what_the_rest_says_is_not_added_again() -> None:
    # A playbook's apology: the explanation that follows already says what changes.
    rewrite = coach_rewrite(
        text="We apologise for any inconvenience.",
        context=CoachContext(summary="Power outage at the venue"),
        also_present=frozenset({"fix", "time", "prevention"}),
    )

    assert "does not happen again" not in rewrite
    assert "within" not in rewrite
    assert "That was our mistake" in rewrite


def test_given_the_development_set_then_nearly_every_deficient_rewrite_passes() -> None:
    deficient = [i for i in evaluation.load("dev") if not i.sincere]

    results = [coach_score(text=i.text) for i in deficient]
    rewrites = [r.rewrite for r in results if r.rewrite]
    passing = [coach_score(text=r).passed for r in rewrites]

    assert len(rewrites) >= 0.95 * len(deficient)
    assert sum(passing) >= 0.95 * len(rewrites)
