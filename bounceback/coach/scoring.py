"""Scoring an apology before it is sent.

A sincere recovery apology does four things (../shared/seeds/003): it says
sorry without conditions, owns the specific failure, says how it will be fixed
and commits to stopping a repeat. Each is a quarter of the score. Known
non-apology families (conditional "sorry if", blaming the customer's feelings,
"any inconvenience", passive "mistakes were made", "sorry, but") cost points.

Rules catch the common phrasings; sentence embeddings compared with
prototypes of each quality catch phrasings the rules never saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bounceback.coach import embeddings

WEIGHT = 25


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str  # "problem" costs points, "missing" is a quality not found, "good" is praise
    message: str
    suggestion: str = ""
    excerpt: str = ""


@dataclass
class CoachResult:
    score: int
    threshold: int
    components: dict[str, int]
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.score >= self.threshold


@dataclass(frozen=True)
class CoachContext:
    """What the coach knows of the case, to check the apology names the failure."""

    summary: str = ""
    description: str = ""
    customer_name: str = ""


# --- Rules ------------------------------------------------------------------------

_I = re.IGNORECASE
APOLOGY = re.compile(
    r"\b(sorry|apologi[sz]e|apologies|apology|regret|forgive us|my bad|excuse us)\b", _I
)

NON_APOLOGIES: list[tuple[str, re.Pattern[str], str, str]] = [
    (
        "conditional",
        re.compile(
            r"\b(sorry|apologi[sz]e|regret)\b[^.!?]{0,40}\b(if|in case|to the extent)\b", _I
        ),
        'A conditional apology ("sorry if...") doubts that anything went wrong.',
        'Drop the "if": say what went wrong and that you are sorry it did.',
    ),
    (
        "blames_feelings",
        re.compile(
            r"\b(sorry|apologi[sz]e|regret)\b[^.!?]{0,20}\b(that )?you\b[^.!?]{0,12}\b"
            r"(feel|felt|feeling|were|are|got|have been|seem|think|thought|left|been left)\b"
            r"[^.!?]{0,25}\b(upset|that way|offended|disappointed|frustrated|unhappy|annoyed|"
            r"angry|let down|confused|this way)",
            _I,
        ),
        "This apologises for the customer's feelings, not for what we did.",
        'Apologise for our action: "I\'m sorry we ..." instead of "sorry you feel ...".',
    ),
    (
        "any_inconvenience",
        re.compile(
            r"\b(any|the|this|all) (inconvenience|trouble|disruption|issues?)\b"
            r"( (this|that|it) (may|might) have caused)?|\b(may|might) have caused\b",
            _I,
        ),
        '"Any inconvenience" is a stock phrase that names nothing.',
        "Name the actual harm: the missed show, the car not ready, the late parcel.",
    ),
    (
        "passive",
        re.compile(
            r"\b(mistakes|errors|errors and omissions) (were|have been|was) made\b|"
            r"\b(it is|it's) (regrettable|unfortunate) that\b|\bthings (happen|went wrong)\b",
            _I,
        ),
        "The passive voice hides who made the mistake.",
        'Say who: "we made a mistake", "I forgot to call you".',
    ),
    (
        "but",
        re.compile(r"\b(sorry|apologi[sz]e|apologies)\b[^.!?]{0,30}\b(but|however|although)\b", _I),
        '"Sorry, but..." takes the apology back.',
        'End the apology sentence with the apology; explain in a new sentence without "but".',
    ),
    (
        "policy_shield",
        re.compile(
            r"\b(our|company|the) (policy|policies|procedure|terms)\b[^.!?]{0,40}\b"
            r"(do(es)? not|don't|doesn't|cannot|can't|won't|not)\b|\bnothing (we|i) can do\b|"
            r"\bout of our (hands|control)\b",
            _I,
        ),
        "Hiding behind policy tells the customer we will not help.",
        "Say what you can do; if the rule needs bending, ask for it.",
    ),
]

OWNERSHIP = re.compile(
    r"\b(we|i)('ve|'d| have| had)? ?(did not|didn't|failed|forgot|missed|should have|"
    r"should've|let you down|made (a |an )?(mistake|error)|got (it|this|that) wrong|messed|"
    r"dropped|overlooked|neglected|were wrong|was wrong|take (full )?responsibility|"
    r"own (this|it|that)|are responsible|am responsible)|"
    r"\b(our|my) (mistake|fault|error|failure|responsibility|oversight)\b|"
    r"\b(that|this|it)('s| is| was) on (us|me)\b|\bwe (are|were) at fault\b",
    _I,
)
FIX = re.compile(
    r"\b(we|i)('ll| will| are going to| am going to|'m going to|'re going to|"
    r"'ve| have| had)\s+(now\s+)?(refund|credit|rebook|reschedul|replac|repair|fix|send|"
    r"call|arrange|book|waive|cover|deliver|upgrad|reserv|return|sort|make|get|give|contact|"
    r"ring|phone|email|update|keep)|"
    r"\b(by|before|within|until) (today|tonight|tomorrow|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|noon|\d)|\bnext steps?\b|\bhere('s| is) what\b|"
    r"\b(refund|voucher|credit|replacement|rebooking|reschedul)\w*\b",
    _I,
)
PREVENTION = re.compile(
    r"\b(so|to make sure|to ensure|ensure|make sure)\b[^.!?]{0,30}\b(this|it|that)\b[^.!?]{0,15}"
    r"\b(doesn't|does not|won't|will not|never|cannot|can't)\b[^.!?]{0,15}"
    r"\b(happen|recur|occur|repeat)|"
    r"\b(prevent|stop)\w*\b[^.!?]{0,40}\b(again|recurr|repeat|happening)|"
    r"\b(going forward|from now on|in future|in the future|never again)\b|"
    r"\b(we|i)('re| are| am|'m|'ve| have)\s+(now\s+)?(changing|changed|adding|added|"
    r"retraining|retrained|training|reviewing|reviewed|updating|updated|fixing our|putting in|"
    r"introducing|introduced|installing|installed)\b",
    _I,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "we",
        "you",
        "i",
        "our",
        "your",
        "my",
        "me",
        "us",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "its",
        "as",
        "not",
        "no",
        "so",
        "do",
        "did",
        "does",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "just",
        "very",
        "really",
        "please",
        "thank",
        "thanks",
        "sorry",
        "about",
        "into",
        "than",
        "then",
        "there",
        "their",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "how",
        "all",
        "any",
        "some",
        "more",
        "most",
        "ours",
    ]
)

# --- Prototypes for the embedding check ---------------------------------------------

PROTOTYPES: dict[str, list[str]] = {
    "non_apology": [
        "We are sorry if you feel that way.",
        "We apologise for any inconvenience this may have caused.",
        "Sorry you were upset by your experience.",
        "Mistakes were made.",
        "We regret that you were unhappy with the service.",
        "We're sorry, but that is our policy.",
        "Sorry for any trouble.",
        "We value your feedback and apologise for any frustration.",
    ],
    "ownership": [
        "We made a mistake and it is our fault.",
        "I forgot to call you and that is on me.",
        "We let you down by not telling you in time.",
        "Our team failed to deliver what we promised.",
        "We take full responsibility for the missed appointment.",
        "We should have warned you before the work was delayed.",
    ],
    "fix": [
        "We will refund the full amount today.",
        "I have rebooked your appointment for Monday at nine.",
        "We are sending a replacement by courier tomorrow.",
        "I will call you by five o'clock with an update.",
        "Here is what we are doing to put it right.",
        "Your car will be ready on Friday and the rental is on us.",
    ],
    "prevention": [
        "We are changing our process so this does not happen again.",
        "To stop this happening again we now check every booking the day before.",
        "We have installed a backup generator for future events.",
        "We are retraining the team so no customer is left without a call.",
        "From now on you will get a text as soon as anything changes.",
        "We added a second technician on call so sick days never stop the work.",
    ],
}

# Cosine similarity at which a sentence clearly carries a quality, and below
# which it clearly does not; between the two, partial credit.
SIM_FULL = 0.62
SIM_NONE = 0.42


@lru_cache(maxsize=1)
def _prototype_vectors() -> dict[str, np.ndarray]:
    return {name: embeddings.embed(texts) for name, texts in PROTOTYPES.items()}


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if len(_WORD.findall(p)) >= 2]


def _similarity(sentences: list[str]) -> dict[str, np.ndarray]:
    """For each quality, each sentence's best similarity to its prototypes."""
    if not sentences:
        return {name: np.zeros(0) for name in PROTOTYPES}
    vectors = embeddings.embed(sentences)
    return {name: (vectors @ protos.T).max(axis=1) for name, protos in _prototype_vectors().items()}


def _credit(similarity: float) -> float:
    return float(np.clip((similarity - SIM_NONE) / (SIM_FULL - SIM_NONE), 0.0, 1.0))


def _content_words(text: str) -> set[str]:
    return {w.lower().strip("'") for w in _WORD.findall(text) if w.lower() not in _STOP}


def _excerpt(text: str, match: re.Match[str]) -> str:
    start = max(text.rfind(".", 0, match.start()) + 1, 0)
    end = text.find(".", match.end())
    return text[start : end + 1 if end != -1 else len(text)].strip()[:160]


def coach_score(
    *, text: str, threshold: int = 70, context: CoachContext | None = None
) -> CoachResult:
    """Score a draft apology from 0 to 100 and explain the score."""
    context = context or CoachContext()
    # Typographic apostrophes become plain ones so one set of rules reads both.
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    findings: list[Finding] = []
    sentences = _sentences(text)
    sims = _similarity(sentences)
    words = _WORD.findall(text)

    # 1. An unconditional apology.
    penalties = 0
    flagged_sentences: set[int] = set()
    for code, pattern, message, suggestion in NON_APOLOGIES:
        match = pattern.search(text)
        if match:
            penalties += 20
            findings.append(Finding(code, "problem", message, suggestion, _excerpt(text, match)))
            for i, sentence in enumerate(sentences):
                if pattern.search(sentence):
                    flagged_sentences.add(i)
    # A sentence that reads like the non-apology prototypes more than like any
    # good quality, which the rules missed: phrasing we have not seen before.
    for i, sentence in enumerate(sentences):
        if i in flagged_sentences or not APOLOGY.search(sentence):
            continue
        bad = float(sims["non_apology"][i])
        good = max(float(sims[q][i]) for q in ("ownership", "fix", "prevention"))
        if bad >= SIM_FULL and bad > good + 0.05:
            penalties += 15
            findings.append(
                Finding(
                    "sounds_hollow",
                    "problem",
                    "This sentence reads like a stock non-apology.",
                    "Rewrite it in your own words about this customer's problem.",
                    sentence[:160],
                )
            )
    has_apology = bool(APOLOGY.search(text))
    apology_points = WEIGHT if has_apology else 0
    if not has_apology:
        findings.append(
            Finding(
                "no_apology",
                "missing",
                "There is no apology in this message.",
                'Start with a plain "I\'m sorry" or "We apologise" for what happened.',
            )
        )

    # 2. Ownership of the specific failure.
    owned = bool(OWNERSHIP.search(text))
    ownership = 1.0 if owned else max((_credit(s) for s in sims["ownership"]), default=0.0)
    case_words = _content_words(f"{context.summary} {context.description}")
    if case_words:
        overlap = len(case_words & _content_words(text))
        specific = overlap >= min(2, len(case_words))
        if not specific:
            ownership *= 0.6
            findings.append(
                Finding(
                    "not_specific",
                    "missing",
                    "The apology does not say what went wrong for this customer.",
                    f"Name the failure in plain words, e.g. \"I'm sorry that "
                    f'{_lower_first(context.summary or "your booking went wrong")}."',
                )
            )
    if ownership < 0.5:
        findings.append(
            Finding(
                "no_ownership",
                "missing",
                "Nobody owns the mistake.",
                'Say it was ours: "we failed to...", "that was our mistake", "that\'s on us".',
            )
        )

    # 3. A fix or next step.
    fix = 1.0 if FIX.search(text) else max((_credit(s) for s in sims["fix"]), default=0.0)
    if fix < 0.5:
        findings.append(
            Finding(
                "no_fix",
                "missing",
                "The customer cannot tell what happens next.",
                'Say what you will do and by when: "I will rebook you for Monday and call you '
                'by 5 pm today."',
            )
        )

    # 4. A commitment to prevent a repeat.
    prevention = (
        1.0
        if PREVENTION.search(text)
        else max((_credit(s) for s in sims["prevention"]), default=0.0)
    )
    if prevention < 0.5:
        findings.append(
            Finding(
                "no_prevention",
                "missing",
                "Nothing says it won't happen again.",
                'Add what changes: "We now ... so this does not happen again."',
            )
        )

    if len(words) < 12:
        penalties += 10
        findings.append(
            Finding(
                "too_short",
                "problem",
                "This is too short to carry a real apology.",
                "Say sorry, own it, fix it and prevent it: four short sentences are enough.",
            )
        )
    name_words = _content_words(context.customer_name)
    if name_words and name_words & _content_words(text):
        findings.append(Finding("personal", "good", "Addressed to the customer by name."))

    components = {
        "apology": apology_points,
        "ownership": round(ownership * WEIGHT),
        "fix": round(fix * WEIGHT),
        "prevention": round(prevention * WEIGHT),
    }
    score = int(max(0, min(100, sum(components.values()) - penalties)))
    return CoachResult(score=score, threshold=threshold, components=components, findings=findings)


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text
