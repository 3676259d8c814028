"""Scoring an apology before it is sent.

A sincere recovery apology does four things (../shared/seeds/003, 004): it says
sorry without conditions, owns the specific failure, says how it will be put
right (and when), and what changes so it does not happen again. It does not
blame the customer's feelings, a colleague or the weather, take the apology
back with "but", make light of the harm, hide in stock phrases, sell something
instead, or promise "never again" with nothing behind it.

`coach_score` reads a draft with the rules (rules.py: what each sentence does
and does wrong, named with the sentence at fault) and the model (model.py: a
sentence model over WordLlama embeddings and a draft model over both), and
returns a score from 0 to 100 calibrated so the policy's default threshold of
70 separates sincere drafts from deficient ones, each finding with its
sentence, and a rewritten draft built from the agent's own sentences and the
case's facts (rewrite.py). English and Spanish are scored; a draft in another
language is marked not scored and never blocked on the coach's account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bounceback.coach import language as languages
from bounceback.coach import model as learned
from bounceback.coach.rules import PROBLEM_FAMILY, Report, analyse, word_count
from bounceback.coach.text import normalise, words

DEFAULT_THRESHOLD = 70
WEIGHT = 25  # each quality's bar in `components` is out of 25

# A sentence the model reads as one of the ways apologies go wrong, that no rule
# named, is pointed out from this probability (placed on the development set
# so sincere drafts almost never get one).
MODEL_FINDING = 0.8
# A quality counts as present from this probability when no rule found it.
MODEL_QUALITY = 0.5


@dataclass(frozen=True)
class Finding:
    code: str
    kind: str  # "problem" costs points, "missing" is a quality not found, "good" is praise
    message: str
    suggestion: str = ""
    excerpt: str = ""  # the words that set it off
    sentence: str = ""  # the whole sentence at fault; empty for what is missing


@dataclass
class CoachResult:
    # None when the draft's language is not scored (see `scored`).
    score: int | None
    threshold: int
    components: dict[str, int]
    findings: list[Finding] = field(default_factory=list)
    # A better draft from the agent's own text and the case's facts; empty when
    # there is nothing to improve. The agent may take it, edit it or ignore it.
    rewrite: str = ""
    language: str = "en"
    scored: bool = True

    @property
    def passed(self) -> bool:
        """Ready to send: a draft the coach cannot read is never held back by it."""
        return not self.scored or (self.score or 0) >= self.threshold

    @property
    def language_name(self) -> str:
        return languages.NAMES.get(self.language, self.language)


@dataclass(frozen=True)
class CoachContext:
    """What the coach knows of the case: to check the apology names the failure,
    and to build the rewrite from the case's facts."""

    summary: str = ""
    description: str = ""
    customer_name: str = ""
    # The fix or next step already known ("Refund the tickets and rebook for Friday").
    next_step: str = ""
    # The policy's update cadence: a rewrite promises news within this many minutes.
    update_minutes: int = 20


# --- What each finding says -----------------------------------------------------------------------

ADVICE: dict[str, tuple[str, str]] = {
    "conditional": (
        'A conditional apology ("sorry if...") doubts that anything went wrong.',
        'Drop the "if": say what went wrong and that you are sorry it did.',
    ),
    "blames_feelings": (
        "This apologises for the customer's feelings, not for what we did.",
        'Apologise for our action: "I\'m sorry we ..." instead of "sorry you feel ...".',
    ),
    "passive": (
        "The passive voice hides who made the mistake.",
        'Say who: "we made a mistake", "I forgot to call you".',
    ),
    "excuse": (
        "This explains the failure away instead of owning it.",
        "Own it first. If the cause helps the customer, say it plainly, without making it "
        "someone else's fault.",
    ),
    "policy_shield": (
        "Hiding behind policy tells the customer we will not help.",
        "Say what you can do; if the rule needs bending, ask for it.",
    ),
    "blames_customer": (
        "This puts the blame on the customer.",
        "Leave out what they should have done; say what we will do.",
    ),
    "blames_colleague": (
        "This blames a colleague or another team; to the customer we are one company.",
        'Say "we": "we sent the wrong size". Deal with the colleague inside.',
    ),
    "but": (
        '"Sorry, but..." takes the apology back.',
        'End the apology sentence with the apology; explain in a new sentence without "but".',
    ),
    "sarcasm": (
        "This reads as sarcastic.",
        "Say it straight: what went wrong, that you are sorry, and what you will do.",
    ),
    "minimising": (
        "This makes light of what happened to the customer.",
        "Leave the size of the problem to the customer: say what it cost them, not how small "
        "it was.",
    ),
    "any_inconvenience": (
        '"Any inconvenience" is a stock phrase that names nothing.',
        "Name the actual harm: the missed show, the car not ready, the late parcel.",
    ),
    "cliche": (
        "A stock phrase: it reads like a form letter.",
        "Say it in your own words, about this customer's problem.",
    ),
    "upsell": (
        "An offer or a sale where the apology should be.",
        "Apologise and put it right first; keep promotions out of an apology.",
    ),
    "over_promise": (
        '"It will never happen again" promises what nobody can guarantee, with nothing behind it.',
        'Say what changes instead: "we now ... so this does not happen again."',
    ),
    "sounds_hollow": (
        "This sentence reads like a stock non-apology.",
        "Rewrite it in your own words about this customer's problem.",
    ),
    "no_apology": (
        "There is no apology in this message.",
        'Start with a plain "I\'m sorry" or "We apologise" for what happened.',
    ),
    "sympathy_only": (
        '"Sorry to hear" sympathises; it does not apologise for what we did.',
        'Say "I\'m sorry we ..." and name what we did.',
    ),
    "no_ownership": (
        "Nobody owns the mistake.",
        'Say it was ours: "we failed to...", "that was our mistake", "that\'s on us".',
    ),
    "no_fix": (
        "The customer cannot tell what happens next.",
        'Say what you will do and by when: "I will rebook you for Monday and call you by 5 pm '
        'today."',
    ),
    "fix_no_time": (
        "The fix has no time on it.",
        'Say when: "by 5 pm today", "on Monday morning", "within the hour".',
    ),
    "no_prevention": (
        "Nothing says it won't happen again.",
        'Add what changes: "We now ... so this does not happen again."',
    ),
    "too_short": (
        "This is too short to carry a real apology.",
        "Say sorry, own it, fix it and prevent it: four short sentences are enough.",
    ),
}
# The model's own wording for a sentence no rule named.
READS_LIKE = {
    "cliche": ("cliche", "This sentence reads like a stock phrase."),
    "nonapology": ("sounds_hollow", "This sentence reads like a non-apology."),
    "passive": ("passive", "This sentence reads as if nobody made the mistake."),
    "excuse": ("excuse", "This sentence reads like an excuse."),
    "blame_customer": ("blames_customer", "This sentence reads as blaming the customer."),
    "blame_colleague": ("blames_colleague", "This sentence reads as blaming a colleague."),
    "minimise": ("minimising", "This sentence reads as making light of the problem."),
    "sarcasm": ("sarcasm", "This sentence reads as sarcastic."),
    "upsell": ("upsell", "This sentence reads like a sales offer."),
    "overpromise": ("over_promise", "This sentence promises more than anyone can guarantee."),
}
# Which labelled defect a finding code names (for the evaluation's "named" rate).
FINDING_DEFECTS: dict[str, tuple[str, ...]] = {
    **{code: (family,) for code, family in PROBLEM_FAMILY.items()},
    "sounds_hollow": ("conditional", "blames_feelings", "cliche"),
    "no_apology": ("no_apology",),
    "sympathy_only": ("no_apology", "blames_feelings"),
    "no_ownership": ("no_ownership",),
    "no_fix": ("no_fix",),
    "fix_no_time": ("no_fix",),
    "no_prevention": ("no_prevention", "over_promise"),
}


def _words(text: str) -> frozenset[str]:
    """A set of words written as one string, as they read."""
    return frozenset(text.split())


_STOP = _words(
    "a an the and or but if of to in on at for with from by is are was were be been "
    "it this that we you i our your my me us they them he she his her its as not no "
    "so do did does have has had will would can could should just very really please "
    "thank thanks sorry about into than then there their what when where which who "
    "why how all any some more most ours"
)


# --- Scoring --------------------------------------------------------------------------------------


def coach_score(
    *,
    text: str,
    threshold: int = DEFAULT_THRESHOLD,
    context: CoachContext | None = None,
    language: str | None = None,
) -> CoachResult:
    """Score a draft apology from 0 to 100 and explain the score.

    `language` (an ISO code such as "es" or "es-MX") is detected from the text
    when not given.
    """
    context = context or CoachContext()
    text = normalise(text)
    lang = (language or languages.detect(text)).split("-")[0].lower() or "en"
    if not languages.is_scored(lang):
        return _not_scored(lang, threshold)
    report = analyse(text, lang)
    reading = learned.read(report)
    score = learned.to_score(reading.logit, learned.weights().offset)
    has_apology = report.has("apology")
    if not has_apology or word_count(text) < 4:
        # Whatever else it says, a message without an apology is not one.
        score = min(score, 40)
    findings = _findings(report, reading, context, text)
    components = _components(report, reading)
    result = CoachResult(
        score=score,
        threshold=threshold,
        components=components,
        findings=findings,
        language=lang,
    )
    if any(f.kind in ("problem", "missing") for f in findings):
        from bounceback.coach.rewrite import suggest

        rewrite = suggest(report=report, reading=reading, findings=findings, context=context)
        if rewrite and rewrite.strip() != text.strip():
            result.rewrite = rewrite
    return result


def coach_rewrite(
    *,
    text: str,
    context: CoachContext | None = None,
    language: str | None = None,
    also_present: frozenset[str] = frozenset(),
) -> str:
    """Only the suggested rewrite of `text`, for a draft that is one part of a longer
    message (a playbook's apology, followed by its explanation and alternatives):
    `also_present` names what the other parts already say ("ownership", "fix",
    "time", "prevention"), so the rewrite does not add it twice. Empty when the
    language is not scored or there is nothing to improve."""
    context = context or CoachContext()
    text = normalise(text)
    lang = (language or languages.detect(text)).split("-")[0].lower() or "en"
    if not languages.is_scored(lang) or not text.strip():
        return ""
    report = analyse(text, lang)
    reading = learned.read(report)
    findings = _findings(report, reading, context, text)
    problems = [f for f in findings if f.kind == "problem"]
    missing = {f.code for f in findings if f.kind == "missing"}
    needed = {
        "no_apology": "apology",
        "sympathy_only": "apology",
        "no_ownership": "ownership",
        "no_fix": "fix",
        "fix_no_time": "time",
        "no_prevention": "prevention",
    }
    if not problems and all(needed.get(code) in also_present for code in missing & set(needed)):
        return ""
    from bounceback.coach.rewrite import suggest

    rewrite = suggest(
        report=report,
        reading=reading,
        findings=findings,
        context=context,
        also_present=also_present,
    )
    return rewrite if rewrite.strip() != text.strip() else ""


def _not_scored(lang: str, threshold: int) -> CoachResult:
    name = languages.NAMES.get(lang, lang)
    return CoachResult(
        score=None,
        threshold=threshold,
        components={},
        findings=[
            Finding(
                "not_scored",
                "missing",
                f"The coach reads English and Spanish; this draft looks {name}, so it was not "
                "scored.",
                "Ask a fluent speaker to check it says sorry, owns the failure, fixes it and "
                "prevents it.",
            )
        ],
        language=lang,
        scored=False,
    )


def _present(report: Report, reading: learned.Reading, quality: str) -> bool:
    """A quality the rules found, or the model is confident of in some sentence."""
    rule = {
        "apology": report.has("apology"),
        "ownership": report.owned,
        "fix": bool(
            report.qualities["fix_done"]
            or report.qualities["fix_future"]
            or report.qualities["compensation"]
        ),
        "prevention": report.has("prevention"),
    }[quality]
    return rule or reading.strongest.get(quality, 0.0) >= MODEL_QUALITY


def _findings(
    report: Report, reading: learned.Reading, context: CoachContext, text: str
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, int]] = set()
    flagged: set[int] = set()
    for hit in report.problems():
        if (hit.code, hit.sentence) in seen:
            continue
        seen.add((hit.code, hit.sentence))
        flagged.add(hit.sentence)
        message, suggestion = ADVICE[hit.code]
        sentence = report.sentences[hit.sentence].text
        findings.append(Finding(hit.code, "problem", message, suggestion, hit.phrase, sentence))
    # What the model reads as going wrong in a sentence no rule named.
    good = (
        set(report.qualities["ownership"])
        | set(report.qualities["fix_done"])
        | set(report.qualities["fix_future"])
        | set(report.qualities["prevention"])
    )
    for i, row in enumerate(reading.roles):
        if i in flagged or i in good:
            continue
        probs = dict(zip(learned.ROLES, row, strict=True))
        role = max(learned.BAD_ROLES, key=lambda r: probs[r])
        if probs[role] >= MODEL_FINDING:
            code, message = READS_LIKE[role]
            suggestion = ADVICE[code][1]
            sentence = report.sentences[i].text
            findings.append(Finding(code, "problem", message, suggestion, "", sentence))
            flagged.add(i)

    def missing(code: str) -> None:
        message, suggestion = ADVICE[code]
        findings.append(Finding(code, "missing", message, suggestion))

    apology = report.qualities["apology"]
    if not apology:
        missing("no_apology")
    elif set(apology) <= set(report.qualities["sympathy"]):
        missing("sympathy_only")
    if not _present(report, reading, "ownership"):
        missing("no_ownership")
    if not _present(report, reading, "fix"):
        missing("no_fix")
    elif not report.qualities["fix_time"] and not report.qualities["fix_done"]:
        missing("fix_no_time")
    if not _present(report, reading, "prevention"):
        missing("no_prevention")
    if word_count(text) < 12:
        message, suggestion = ADVICE["too_short"]
        findings.append(Finding("too_short", "problem", message, suggestion))
    case_words = _content_words(f"{context.summary} {context.description}")
    if case_words and len(case_words & _content_words(text)) < min(2, len(case_words)):
        findings.append(
            Finding(
                "not_specific",
                "missing",
                "The apology does not say what went wrong for this customer.",
                f'Name the failure in plain words, e.g. "{example_sentence(context.summary)}"',
            )
        )
    name_words = _content_words(context.customer_name)
    if name_words and name_words & _content_words(text):
        findings.append(Finding("personal", "good", "Addressed to the customer by name."))
    return findings


def _components(report: Report, reading: learned.Reading) -> dict[str, int]:
    def strength(quality: str, rule: bool) -> int:
        value = 1.0 if rule else reading.strongest.get(quality, 0.0)
        return round(WEIGHT * min(1.0, value))

    q = report.qualities
    apology = strength("apology", bool(q["apology"]))
    codes = report.problem_codes()
    if {"conditional", "blames_feelings", "sarcasm"} & codes or (
        q["apology"] and set(q["apology"]) <= set(q["sympathy"])
    ):
        apology = min(apology, WEIGHT // 2)
    return {
        "apology": apology,
        "ownership": strength("ownership", report.owned),
        "fix": strength("fix", bool(q["fix_done"] or q["fix_future"] or q["compensation"])),
        "prevention": strength("prevention", bool(q["prevention"])),
    }


def _content_words(text: str) -> set[str]:
    return {w.lower().strip("'") for w in words(text) if w.lower() not in _STOP and len(w) > 1}


def example_sentence(summary: str) -> str:
    """An apology sentence naming the failure, that reads well whatever the summary is.

    Summaries are written as titles ("Car not ready: technician called in sick",
    "Late delivery!", "WiFi down"), not clauses, so they follow a colon rather
    than "that": "I'm sorry about what happened: car not ready, technician called
    in sick." Without a summary, a general one.
    """
    what = " ".join((summary or "").split()).strip().rstrip(".!?;:,- ").strip("\"'“”")
    what = what.replace(": ", ", ").replace(" - ", ", ")
    if not what:
        return "I'm sorry for what went wrong."
    first, _, rest = what.partition(" ")
    # "Late" becomes "late"; "WiFi", "BBQ" and "iPhone" keep their capitals.
    if first[:1].isupper() and first[1:] == first[1:].lower():
        first = first.lower()
    return f"I'm sorry about what happened: {' '.join(p for p in (first, rest) if p)}."


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    if len(text) > 1 and text[1].isupper():
        return text  # an acronym or a name keeps its capital
    return text[:1].lower() + text[1:] if text else text


def defects_named(result: CoachResult) -> set[str]:
    """The labelled defect families the result's findings cover (for the evaluation)."""
    named: set[str] = set()
    for finding in result.findings:
        named.update(FINDING_DEFECTS.get(finding.code, ()))
    return named
