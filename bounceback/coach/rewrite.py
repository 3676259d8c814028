"""A better draft, built from the agent's own text and the case's facts.

The suggestion keeps every sentence of the agent's that did nothing wrong, in
their order; repairs what can be repaired ("sorry if the mix-up spoiled your
evening" becomes "I'm sorry that the mix-up spoiled your evening"; the part of
a "sorry, but" sentence before the "but"); drops what cannot (excuses, blame,
sarcasm, sales, stock phrases, promises of "never again"); and adds what is
missing, from the case where it can: an apology naming the failure (the case
summary), ownership, the fix or next step with a time (the case's known next
step, and the policy's update cadence), and what will change. The agent can
take it, edit it or ignore it; it is never sent on its own.

The added sentences are plain on purpose. They promise a time for news rather
than a fix nobody has agreed, and a look at why it happened rather than a
guarantee.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bounceback.coach.rules import RULESETS, Report, analyse
from bounceback.coach.text import split_sentences

if TYPE_CHECKING:
    from bounceback.coach.model import Reading
    from bounceback.coach.scoring import CoachContext, Finding

_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hola|estimad[oa]s?|buenos días|"
    r"buenas tardes)\b[^.!?]{0,60}[,:]?$",
    re.IGNORECASE,
)
_GREETING_PREFIX = re.compile(
    r"^((?:hi|hello|hey|dear|hola|estimad[oa]s?)\s+[^,:!?]{1,40}[,:])\s*", re.IGNORECASE
)
_SIGN_OFF = re.compile(
    r"^(?:kind regards|regards|best wishes|best|thanks|thank you|many thanks|cheers|"
    r"sincerely|yours sincerely|yours faithfully|yours|warmly|warm regards|with (?:my )?"
    r"(?:sincere )?apologies|sorry again|un saludo|saludos|atentamente|cordialmente|gracias)\b",
    re.IGNORECASE,
)
_SORRY_IF = re.compile(
    r"\b(sorry|apologi[sz]e|apologies)\s+if\s+(?!you\s+(?:feel|felt|were|are|'re|think|thought))"
    r"(.+?)[.!?]*$",
    re.IGNORECASE,
)
_BUT = re.compile(
    r"^(.*?\b(?:sorry|apologi[sz]e|apologies|siento|sentimos|disculp\w+|lamento|lamentamos)\b"
    r"[^.!?]*?)[,;]?\s+(?:but|however|although|pero|sin embargo|aunque)\b",
    re.IGNORECASE,
)

PHRASES = {
    "en": {
        "apology_case": "I'm sorry about what happened: {what}.",
        "apology": "I'm sorry for what happened.",
        "ownership": "That was our mistake, not yours.",
        "fix_step": "Here is what I am doing about it: {step}.",
        "fix": "I am putting this right now, and I will update you within {minutes} minutes "
        "with what has been done.",
        "time": "I will update you within {minutes} minutes.",
        "prevention": "We are also finding out why it happened and changing how we work, so it "
        "does not happen again.",
        "repair_if": "I'm sorry that {rest}.",
    },
    "es": {
        "apology_case": "Siento mucho lo ocurrido: {what}.",
        "apology": "Siento mucho lo ocurrido.",
        "ownership": "Fue un error nuestro, no suyo.",
        "fix_step": "Esto es lo que estoy haciendo: {step}.",
        "fix": "Ya me estoy ocupando de solucionarlo y le escribiré de nuevo en {minutes} "
        "minutos con lo que hemos hecho.",
        "time": "Le escribiré de nuevo en {minutes} minutos.",
        "prevention": "Además, estamos revisando por qué ocurrió para que no vuelva a pasar.",
        "repair_if": "Siento mucho que {rest}.",
    },
}


# Long on purpose: builds the draft in the order the customer reads it (apology,
# ownership, fix, prevention), one block per part.
def suggest(
    *,
    report: Report,
    reading: Reading,
    findings: list[Finding],
    context: CoachContext,
    also_present: frozenset[str] = frozenset(),
) -> str:
    """The rewritten draft. `also_present` names qualities another part of the
    message already carries (a playbook's explanation holds the prevention), so
    they are not added twice."""
    lang = report.language if report.language in PHRASES else "en"
    phrases = PHRASES[lang]
    paragraphs = "\n\n" in report.text

    head: list[str] = []
    tail: list[str] = []
    body: list[str] = []
    # Every line counts here, a signature's lone name included.
    sentences = [s.text for s in split_sentences(report.text, min_words=1)]
    for i, sentence in enumerate(sentences):
        if i == 0 and _GREETING.match(sentence):
            head.append(sentence)
            continue
        if i >= len(sentences) - 3 and (_SIGN_OFF.match(sentence) or (tail and _short(sentence))):
            if not _faulty(sentence, findings) or _SIGN_OFF.match(sentence):
                tail.append(sentence)
            continue
        if i == 0:
            greeting = _GREETING_PREFIX.match(sentence)
            if greeting and _faulty(sentence, findings):
                head.append(greeting.group(1))
        if not _faulty(sentence, findings):
            body.append(sentence)
            continue
        repaired = _repair(sentence, lang)
        if repaired:
            body.append(repaired)

    kept = analyse(" ".join(body), lang)
    have = {
        "apology": bool(kept.qualities["apology"])
        and not set(kept.qualities["apology"]) <= set(kept.qualities["sympathy"]),
        "ownership": kept.owned,
        "fix": bool(
            kept.qualities["fix_done"]
            or kept.qualities["fix_future"]
            or kept.qualities["compensation"]
        ),
        "time": bool(kept.qualities["fix_time"] or kept.qualities["fix_done"]),
        "prevention": kept.has("prevention"),
    }
    for quality in also_present:
        have[quality] = True

    opening: list[str] = []
    if not have["apology"]:
        what = _what_went_wrong(context)
        opening.append(phrases["apology_case"].format(what=what) if what else phrases["apology"])
    if not have["ownership"]:
        opening.append(phrases["ownership"])
    closing: list[str] = []
    minutes = max(1, int(context.update_minutes or 20))
    if not have["fix"]:
        step = _clause(context.next_step)
        if step:
            closing.append(phrases["fix_step"].format(step=step))
            closing.append(phrases["time"].format(minutes=minutes))
        else:
            closing.append(phrases["fix"].format(minutes=minutes))
    elif not have["time"]:
        closing.append(phrases["time"].format(minutes=minutes))
    if not have["prevention"]:
        closing.append(phrases["prevention"])

    # The apology and its ownership lead; what the agent wrote follows, then the
    # fix and the change.
    apology_first = [s for s in body if RULESETS[lang].apology.search(s)][:1]
    if apology_first and opening and have["apology"]:
        at = body.index(apology_first[0]) + 1
        body = body[:at] + opening + body[at:]
        opening = []
    if opening and not head and context.customer_name and not _names(body, context.customer_name):
        # Our own opening line greets the customer by name; the agent's lines stay as written.
        first = context.customer_name.split()[0]
        opening[0] = f"{first}, {_lower_initial(opening[0])}"
    main = " ".join(opening + body + closing).strip()
    if paragraphs:
        return "\n\n".join(part for part in (" ".join(head), main, "\n".join(tail)) if part)
    return " ".join(part for part in (" ".join(head), main, " ".join(tail)) if part)


def _faulty(sentence: str, findings: list[Finding]) -> bool:
    return any(f.kind == "problem" and f.sentence == sentence for f in findings)


def _repair(sentence: str, lang: str) -> str:
    """The sound part of a faulty sentence, when it has one; else nothing."""
    candidates = []
    match = _SORRY_IF.search(sentence)
    if match:
        rest = match.group(2).strip().rstrip(",")
        candidates.append(PHRASES[lang]["repair_if"].format(rest=rest))
    match = _BUT.match(sentence)
    if match:
        candidates.append(match.group(1).strip().rstrip(",;:-") + ".")
    for candidate in candidates:
        report = analyse(candidate, lang)
        if not report.problems() and report.has("apology"):
            return candidate[0].upper() + candidate[1:]
    return ""


def _what_went_wrong(context: CoachContext) -> str:
    what = (context.summary or "").strip().rstrip(".")
    if not what:
        return ""
    what = what.replace(": ", ", ")
    if len(what) > 1 and not what[1].isupper():
        what = what[0].lower() + what[1:]
    return what


def _clause(text: str) -> str:
    text = " ".join((text or "").split()).rstrip(".")
    if not text:
        return ""
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _lower_initial(sentence: str) -> str:
    if re.match(r"I\b|I'", sentence):
        return sentence
    return sentence[:1].lower() + sentence[1:]


def _short(sentence: str) -> bool:
    return len(sentence.split()) <= 4


def _names(sentences: list[str], name: str) -> bool:
    first = name.split()[0].lower() if name.split() else ""
    return bool(first) and any(first in s.lower() for s in sentences)
