"""How negative a customer's text reads, from 0 (not at all) to 1 (very).

A logistic regression (numpy) over two kinds of features: WordLlama sentence
embeddings (the weights ship inside the wordllama wheel; nothing is
downloaded), and a few cues read with negation in mind, because averaged word
vectors cannot tell "no problems at all" from "problems": a negative word
after "no", "not", "never" or "n't" counts as a positive cue, and a positive
word after one as a negative cue. Politeness ("kindly", "please") is its own
cue so a polite complaint is not read as contentment. Trained on the labelled
set in `data/` (see data/make.py); `model.json` holds the weights.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
MODEL_PATH = HERE / "model.json"
# At or above this a text is labelled negative (the cue on the inbox and case).
NEGATIVE_AT = 0.5
VERY_NEGATIVE_AT = 0.8

_WORD = re.compile(r"[a-z']+|\d+|[?!]")
_NEGATORS = {
    "no",
    "not",
    "never",
    "nothing",
    "nobody",
    "none",
    "without",
    "cannot",
    "cant",
    "dont",
    "didnt",
    "isnt",
    "wasnt",
    "wont",
    "couldnt",
    "hardly",
    "zero",
}
_NEGATIVE_WORDS = """
    late delay delayed delays cancel cancelled canceled cancellation lost lose missing
    missed broken broke wrong worst terrible awful horrible useless rude disgrace
    appalling ridiculous shocking unacceptable joke pathetic dreadful disappointed
    disappointing disappointment furious angry annoyed upset frustrated frustrating sick
    tired hate stuck stranded waiting wait waited hold overcharged charged fee fees
    refund complaint complain problem problems issue issues fail failed failing fails
    error crashed crash dirty cold smelled smell never nobody ignoring ignored excuses
    unhelpful poor bad worse sucks fix declined overbooked chasing chase again still
    seriously hours
"""
_NEGATIVE = frozenset(_NEGATIVE_WORDS.split())
_POSITIVE_WORDS = """
    thanks thank great love loved lovely brilliant excellent helpful amazing fantastic
    kind quick perfect perfectly friendly happy happier impressed wonderful smooth
    appreciate appreciated good well best awesome nice spotless enjoyed fault fine works
    working
"""
_POSITIVE = frozenset(_POSITIVE_WORDS.split())
_POLITE = {"kindly", "please", "would", "could", "appreciate"}


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'").replace("n't", "nt"))


def cues(text: str) -> list[float]:
    """Counts a person reads: negative and positive words, each flipped after a negator."""
    tokens = _tokens(text)
    neg = pos = flipped_neg = flipped_pos = polite = 0.0
    for i, token in enumerate(tokens):
        negated = any(t in _NEGATORS for t in tokens[max(0, i - 3) : i])
        word = token.strip("'")
        if word in _NEGATIVE:
            if negated:
                flipped_neg += 1
            else:
                neg += 1
        elif word in _POSITIVE:
            if negated:
                flipped_pos += 1
            else:
                pos += 1
        if word in _POLITE:
            polite += 1
    questions = float(text.count("?"))
    exclaims = float(text.count("!"))
    numbers = float(
        len(re.findall(r"\d+\s*(?:hours?|hrs?|minutes?|mins?|days?|weeks?)", text.lower()))
    )
    length = max(1.0, float(len(tokens)))
    return [
        np.log1p(neg),
        np.log1p(pos),
        np.log1p(flipped_neg),
        np.log1p(flipped_pos),
        np.log1p(polite),
        np.log1p(questions),
        np.log1p(exclaims),
        np.log1p(numbers),
        np.log1p(length) / 4,
        1.0 if re.search(r"\b[A-Z]{4,}\b", text) else 0.0,
    ]


CUE_NAMES = [
    "negative words",
    "positive words",
    "negated negative words",
    "negated positive words",
    "politeness",
    "question marks",
    "exclamation marks",
    "durations",
    "length",
    "shouting",
]


# Handles, links and the hash of a tag say who and where, not how the writer feels.
_NOISE = re.compile(r"@\w+|https?://\S+|#")


def clean(text: str) -> str:
    """The words of a message, without social handles, links and hash signs."""
    return " ".join(_NOISE.sub(" ", text).split()) or " "


def features(texts: Sequence[str]) -> np.ndarray:
    from bounceback.coach.embeddings import embed

    cleaned = [clean(t or "") for t in texts]
    vectors = embed(cleaned)
    extra = np.asarray([cues(t) for t in cleaned], dtype=np.float32)
    return np.hstack([vectors, extra])


@dataclass(frozen=True)
class Weights:
    w: np.ndarray
    b: float
    # The logit's calibration (train.calibrate): score = sigmoid(scale * (logit - shift)).
    scale: float = 1.0
    shift: float = 0.0


@lru_cache(maxsize=1)
def weights() -> Weights:
    data = json.loads(MODEL_PATH.read_text())
    return Weights(
        np.asarray(data["w"], dtype=np.float32),
        float(data["b"]),
        float(data.get("scale", 1.0)),
        float(data.get("shift", 0.0)),
    )


def scores(texts: Sequence[str]) -> list[float | None]:
    """Negativity of each text, 0 to 1 (None for an empty text), in one batch."""
    present = [i for i, t in enumerate(texts) if t and t.strip()]
    out: list[float | None] = [None] * len(texts)
    if not present:
        return out
    model = weights()
    x = features([texts[i][:4000] for i in present])
    z = model.scale * (x @ model.w + model.b - model.shift)
    probs = 1.0 / (1.0 + np.exp(-z))
    for i, p in zip(present, probs, strict=True):
        out[i] = round(float(p), 4)
    return out


def score(text: str) -> float | None:
    return scores([text])[0]


def label(value: float | None) -> str:
    """The word for a score: "very negative", "negative", "not negative" or "none"."""
    if value is None:
        return "none"
    if value >= VERY_NEGATIVE_AT:
        return "very negative"
    if value >= NEGATIVE_AT:
        return "negative"
    return "not negative"
