"""The coach's example sentence reads well whatever the case summary is."""

from __future__ import annotations

import pytest

from bounceback.coach.scoring import CoachContext, coach_score, example_sentence


@pytest.mark.parametrize(
    ("summary", "sentence"),
    [
        (
            "Car not ready: technician called in sick",
            "I'm sorry about what happened: car not ready, technician called in sick.",
        ),
        ("Late delivery!", "I'm sorry about what happened: late delivery."),
        ("WiFi down in room 12.", "I'm sorry about what happened: WiFi down in room 12."),
        (
            "  Power cut   at the Grand Hall  ",
            "I'm sorry about what happened: power cut at the Grand Hall.",
        ),
        ("“Overcharged”", "I'm sorry about what happened: overcharged."),
        ("", "I'm sorry for what went wrong."),
        ("...", "I'm sorry for what went wrong."),
    ],
)
def test_example_sentence(summary: str, sentence: str) -> None:
    assert example_sentence(summary) == sentence


def test_the_not_specific_finding_quotes_a_readable_sentence() -> None:
    result = coach_score(
        text="We are sorry. We will fix it by Friday and change our checks so it never recurs.",
        context=CoachContext(summary="Car not ready: technician called in sick"),
    )
    [finding] = [f for f in result.findings if f.code == "not_specific"]
    assert "I'm sorry that car" not in finding.suggestion
    assert "car not ready, technician called in sick." in finding.suggestion
