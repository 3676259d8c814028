"""The coach's learned part: what each sentence does, and how sincere the whole draft reads.

Two small models, both plain logistic regression in numpy, trained by
`python -m bounceback.coach.train` and shipped as model.json beside this file:

1. The sentence model reads a WordLlama embedding of each sentence (and of each
   clause a dash or colon separates), the embedding of its first words, and a
   few marks of its grammar, and says which role it plays: an apology,
   an admission, a fix, a prevention, or one of the ways apologies go wrong
   (an excuse, a cliche, sarcasm...). It catches phrasings the rules never saw:
   "a replacement left by courier this morning" is a fix without any of the
   words the fix rule knows.
2. The draft model weighs the rules' findings and the strongest sentence of each
   role into one logit; each part of an apology counts as the stronger of the
   rules' reading and the sentence model's, so wording no rule knows still
   counts. `offset` moves that logit so the policy's default threshold (70)
   sits at the decision point chosen on the development set.

Nothing is downloaded: the weights are in the package and WordLlama's
embeddings ship inside its own wheel.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bounceback.coach import embeddings
from bounceback.coach.rules import PROBLEMS, RULESETS, Report

MODEL_PATH = Path(__file__).with_name("model.json")

GOOD_ROLES = ("apology", "ownership", "fix", "prevention", "empathy")
BAD_ROLES = (
    "cliche",
    "nonapology",
    "passive",
    "excuse",
    "blame_customer",
    "blame_colleague",
    "minimise",
    "sarcasm",
    "upsell",
    "overpromise",
)
# The roles the sentence model tells apart, as in data/sentences.jsonl.
ROLES = (*GOOD_ROLES, "neutral", *BAD_ROLES)
# What the rules report that the draft model reads as it is. The four parts of
# an apology (apology, ownership, fix, prevention) are not here: each is read
# as the stronger of the rules' finding and the sentence model's (see
# `features`), so a part the rules miss in an unusual wording still counts.
QUALITIES = (
    "sympathy",
    "fix_vague",
    "customer_work",
    "cliche_mild",
    "coupon",
)
PARTS = ("apology", "ownership", "fix", "prevention")


def feature_names() -> list[str]:
    return (
        [f"s_{p}" for p in PARTS]
        + ["s_fix_time", "s_all_parts"]
        + [f"miss_{p}" for p in PARTS]
        + [f"q_{q}" for q in QUALITIES]
        + ["q_apology_only_sympathy"]
        + [f"p_{p}" for p in PROBLEMS]
        + ["n_problems", "short"]
        + [f"m_{r}" for r in ("empathy", *BAD_ROLES)]
        + ["m_bad_sum"]
    )


@dataclass(frozen=True)
class Reading:
    """The learned part's reading of one draft."""

    logit: float
    # Per sentence of the report, the probability of each role (rows follow report.sentences).
    roles: np.ndarray
    # Per role, the strongest sentence's probability.
    strongest: dict[str, float]


@dataclass(frozen=True)
class Weights:
    sentence_w: np.ndarray  # (dim + 1, len(ROLES)), last row the bias
    doc_w: np.ndarray  # (len(feature_names()),)
    doc_b: float
    offset: float
    meta: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Weights:
        if tuple(data["roles"]) != ROLES or data["features"] != feature_names():
            raise ValueError("model.json does not match this code: retrain the coach")
        return cls(
            sentence_w=np.asarray(data["sentence_w"], dtype=np.float32),
            doc_w=np.asarray(data["doc_w"], dtype=np.float64),
            doc_b=float(data["doc_b"]),
            offset=float(data["offset"]),
            meta=data.get("meta", {}),
        )


@lru_cache(maxsize=1)
def weights() -> Weights:
    return Weights.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


_TOKEN = re.compile(r"[^\W_][\w'£$€.,:-]*", re.UNICODE)
HEAD_WORDS = 3


def head(text: str) -> str:
    """A sentence's first words: its subject and verb, which an average of word
    vectors cannot place ("we forgot" and "you forgot" average alike)."""
    return " ".join(_TOKEN.findall(text)[:HEAD_WORDS]) or text


# A few marks of grammar an average of word vectors cannot see: who is the subject,
# whether a verb is in the past, whether a time is named. They are about the shape
# of a sentence, not about any industry's words, so they carry over to wordings
# nobody wrote down ("Rebooked 8-10 tomorrow", "we left your bag in Madrid").
_FIRST = r"(?:\bwe\b|\bi\b|\bour\s+[\w-]+(?:\s+[\w-]+)?|\bmy\s+[\w-]+|\bnosotros\b)"
_PAST = (
    r"(?:\w+ed|sent|left|put|gave|took|lost|forgot|broke|sold|told|made|let|kept|got|ran|read|"
    r"wrote|set|missed|mixed|messed|\w+amos|\w+é)"
)
GRAMMAR = (
    # first person did something (in the past)
    re.compile(rf"{_FIRST}(?:'ve|'d|\s+have|\s+had|\s+\w+ly)*\s+{_PAST}\b", re.I),
    # first person did not do something
    re.compile(
        rf"{_FIRST}(?:\s+\w+ly)?\s+(?:didn't|did not|never|hadn't|failed|forgot|no\s+\w+amos)",
        re.I,
    ),
    # telegraphic: the sentence opens on a past participle ("Refunded just now.")
    re.compile(r"^\W*(?!dear\b|need\b|indeed\b)[a-z]+(?:ed|ent|un|one|t)\b", re.I),
    # a time or a date is named
    re.compile(
        r"\b(?:today|tonight|tomorrow|this\s+(?:morning|afternoon|evening|week)|now|just\s+now|"
        r"already|eta|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|"
        r"thu|thurs|fri|sat|sun|within|by\s+\d|\d{1,2}(?::\d\d)?\s?(?:am|pm)|\d{1,2}[:.]\d\d|"
        r"hoy|mañana|ya|ahora|lunes|martes|miércoles|jueves|viernes|sábado|domingo)\b",
        re.I,
    ),
    # a promise of what comes next
    re.compile(r"\b(?:will|'ll|going to|shall|vamos a|voy a|\w+remos|\w+ará)\b", re.I),
    # a lasting change
    re.compile(
        r"\b(?:now|from now on|going forward|in future|from today|every|each|always|"
        r"any more|anymore|ahora|cada|siempre|a partir de)\b",
        re.I,
    ),
    # the customer is the subject
    re.compile(r"(?:^|[,;:]\s*)\W*(?:you|your|usted|tú)\b", re.I),
    # a negation
    re.compile(r"\b(?:not|no|never|n't|nunca)\b|n't\b", re.I),
    # money
    re.compile(r"[£$€]\s?\d|\d\s?(?:€|euros?|pounds|dollars)", re.I),
    re.compile(r"\?"),
    re.compile(r"!"),
)
GRAMMAR_SCALE = 0.5


def grammar(text: str) -> list[float]:
    return [GRAMMAR_SCALE if pattern.search(text) else 0.0 for pattern in GRAMMAR]


def unit_vectors(texts: list[str]) -> np.ndarray:
    """What the sentence model reads of a text: the embedding of the whole and of
    its head, and the marks of its grammar."""
    both = embeddings.embed([*texts, *(head(t) for t in texts)])
    marks = np.asarray([grammar(t) for t in texts], dtype=np.float32).reshape(len(texts), -1)
    return np.hstack([both[: len(texts)], both[len(texts) :], marks])


def sentence_roles(units: list[str], sentence_w: np.ndarray) -> np.ndarray:
    """Role probabilities, one row per text unit."""
    if not units:
        return np.zeros((0, len(ROLES)), dtype=np.float32)
    x = unit_vectors(units)
    x = np.hstack([x, np.ones((x.shape[0], 1), dtype=np.float32)])
    return softmax(x @ sentence_w)


def units_of(report: Report) -> tuple[list[str], list[int]]:
    """Every sentence and its clauses, with the sentence each belongs to."""
    units: list[str] = []
    owners: list[int] = []
    for i, sentence in enumerate(report.sentences):
        units.append(sentence.text)
        owners.append(i)
        for clause in sentence.clauses:
            units.append(clause)
            owners.append(i)
    return units, owners


def per_sentence(report: Report, sentence_w: np.ndarray) -> np.ndarray:
    """Each sentence's role probabilities: for every role, its strongest unit."""
    units, owners = units_of(report)
    probs = sentence_roles(units, sentence_w)
    out = np.zeros((len(report.sentences), len(ROLES)), dtype=np.float32)
    for row, owner in zip(probs, owners, strict=True):
        out[owner] = np.maximum(out[owner], row)
    return out


def part_strengths(report: Report, roles: np.ndarray) -> dict[str, list[float]]:
    """Per part of an apology, per sentence: 1 where a rule found it, else the
    sentence model's probability."""
    q = report.qualities
    rule_rows = {
        "apology": set(q["apology"]) - set(q["sympathy"]),
        "ownership": set(q["ownership"]),
        "fix": set(q["fix_done"]) | set(q["fix_future"]) | set(q["compensation"]),
        "prevention": set(q["prevention"]),
    }
    # A sentence the rules read as deflecting or as a promise with nothing behind it
    # does not own or prevent anything, whatever the model thinks of its words.
    deflecting = {
        h.sentence
        for h in report.problems()
        if h.code in ("blames_colleague", "blames_customer", "excuse", "sarcasm", "over_promise")
    }
    index = {r: i for i, r in enumerate(ROLES)}
    out: dict[str, list[float]] = {}
    for part in PARTS:
        values = []
        for i in range(len(report.sentences)):
            if i in rule_rows[part]:
                values.append(1.0)
            elif part in ("ownership", "prevention") and i in deflecting:
                values.append(0.0)
            else:
                values.append(float(roles[i, index[part]]) if len(roles) else 0.0)
        out[part] = values
    return out


def features(report: Report, roles: np.ndarray) -> np.ndarray:
    q = report.qualities
    has = {name: 1.0 if q.get(name) else 0.0 for name in QUALITIES}
    only_sympathy = 1.0 if q["apology"] and set(q["apology"]) <= set(q["sympathy"]) else 0.0
    problems = report.problem_codes()
    n_words = sum(len(s.text.split()) for s in report.sentences)
    strengths = part_strengths(report, roles)
    strongest = {p: max(v, default=0.0) for p, v in strengths.items()}
    # A fix with a time on it: a fix done, or a sentence that fixes and names when.
    time = RULESETS[report.language].time
    fix_time = 1.0 if q["fix_done"] else 0.0
    for i, value in enumerate(strengths["fix"]):
        if time.search(report.sentences[i].text):
            fix_time = max(fix_time, value)
    # Says sorry, owns it and fixes it: what every sincere apology does (prevention
    # is often left out of a short message and weighs separately).
    all_parts = min(strongest["apology"], strongest["ownership"], strongest["fix"])
    top = roles.max(axis=0) if len(roles) else np.zeros(len(ROLES))
    by_role = dict(zip(ROLES, top, strict=True))
    values = (
        [strongest[p] for p in PARTS]
        + [fix_time, all_parts]
        # How far below even odds each part is: lets the draft model treat a part
        # that is plainly absent as worse than one read with doubt.
        + [max(0.0, 0.5 - strongest[p]) * 2.0 for p in PARTS]
        + [has[name] for name in QUALITIES]
        + [only_sympathy]
        + [1.0 if p in problems else 0.0 for p in PROBLEMS]
        # Length is not read: a terse SMS can be as sincere as a letter, and a long
        # message can say nothing. Only a message too short to hold the parts counts.
        + [min(len(problems), 4) / 2.0, 1.0 if n_words < 8 else 0.0]
        + [float(by_role[r]) for r in ("empathy", *BAD_ROLES)]
        + [float(sum(by_role[r] for r in BAD_ROLES))]
    )
    return np.asarray(values, dtype=np.float64)


def read(report: Report, model: Weights | None = None) -> Reading:
    model = model or weights()
    roles = per_sentence(report, model.sentence_w)
    x = features(report, roles)
    logit = float(x @ model.doc_w + model.doc_b)
    strongest = roles.max(axis=0) if len(roles) else np.zeros(len(ROLES))
    return Reading(
        logit=logit,
        roles=roles,
        strongest={r: float(v) for r, v in zip(ROLES, strongest, strict=True)},
    )


def to_score(logit: float, offset: float) -> int:
    """0-100, with the development set's decision point at 70."""
    return round(100.0 / (1.0 + math.exp(-(logit + offset))))
