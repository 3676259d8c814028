"""The committed negativity model is the one the labelled data trains, and it holds up
on the held-out part."""

from __future__ import annotations

import json

import numpy as np

from bounceback.discovery import train
from bounceback.discovery.negativity import MODEL_PATH, features


def test_the_committed_model_is_what_the_data_trains() -> None:
    texts, y = train.load("train")
    w, b = train.fit(features(texts), y)

    stored = json.loads(MODEL_PATH.read_text())

    assert np.allclose(stored["w"], w, atol=1e-4), "retrain: python -m bounceback.discovery.train"
    assert abs(stored["b"] - b) < 1e-4


def test_held_out_texts_are_ranked_well() -> None:
    texts, y = train.load("test")
    model = json.loads(MODEL_PATH.read_text())

    scores = features(texts) @ np.asarray(model["w"]) + model["b"]

    assert train.auc(y, scores) >= 0.9
