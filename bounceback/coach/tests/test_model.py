"""The shipped model: it loads from the package without the network, matches the
data it was trained on, and scores fast."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from bounceback.coach import embeddings, model, train
from bounceback.coach.scoring import coach_score


def test_given_no_network_when_the_model_loads_then_it_scores(monkeypatch) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the coach tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model.weights.cache_clear()
    embeddings.model.cache_clear()

    result = coach_score(text="I'm sorry, we lost your booking. It's rebooked for Friday.")

    assert result.score is not None
    assert model.MODEL_PATH.parent.name == "coach"


def test_the_committed_model_is_the_one_the_committed_data_trains() -> None:
    # Training is deterministic: a rule or data change without retraining fails here.
    committed = json.loads(model.MODEL_PATH.read_text(encoding="utf-8"))

    fresh = train.train(write=False)

    assert fresh["features"] == committed["features"]
    assert fresh["doc_w"] == pytest.approx(committed["doc_w"], abs=1e-5)
    assert fresh["offset"] == pytest.approx(committed["offset"], abs=1e-5)
    assert np.allclose(fresh["sentence_w"], committed["sentence_w"], atol=1e-5)
