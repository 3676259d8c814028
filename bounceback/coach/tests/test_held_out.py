"""The issue's goals, on the held-out third (data/test.jsonl): apologies written
before the coach existed and never used to build it. This test can fail; it is
the honest measure."""

from __future__ import annotations

from bounceback.coach import evaluation
from bounceback.coach.scoring import DEFAULT_THRESHOLD, coach_score


def test_roc_auc_counts_ties_as_half() -> None:
    assert evaluation.roc_auc([3, 2, 1], [True, False, False]) == 1.0
    assert evaluation.roc_auc([1, 1], [True, False]) == 0.5
    assert evaluation.roc_auc([1, 2], [True, False]) == 0.0


def test_given_the_held_out_apologies_then_the_coach_meets_the_issues_goals() -> None:
    items = evaluation.load("test")
    scores = [float(coach_score(text=i.text).score or 0) for i in items]

    result = evaluation.measure("coach", items, scores, DEFAULT_THRESHOLD)

    assert len(items) >= 100
    assert result.auc >= evaluation.GOAL_AUC, result
    assert result.pass_rate >= evaluation.GOAL_PASS, result
    assert result.stop_rate >= evaluation.GOAL_STOP, result


def test_given_the_held_out_apologies_then_the_coach_beats_length_and_the_lexicon() -> None:
    items = evaluation.load("test")
    sincere = [i.sincere for i in items]
    coach = evaluation.roc_auc([float(coach_score(text=i.text).score or 0) for i in items], sincere)
    _, lexicon = evaluation.lexicon_scorer()

    assert coach > evaluation.roc_auc([evaluation.length_score(i.text) for i in items], sincere)
    assert coach > evaluation.roc_auc([lexicon(i.text) for i in items], sincere)
