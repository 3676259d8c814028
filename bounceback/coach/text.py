"""Splitting a draft into the sentences the coach names, and the clauses it reads.

A finding points at a sentence, so sentences keep their place in the text.
The sentence model reads clauses as well ("I'm sorry - we double-booked your
table" carries an apology and an admission), so each sentence also lists the
clauses its dashes, colons and semicolons separate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words_set(text: str) -> frozenset[str]:
    """A set of words written as one string, as they read."""
    return frozenset(text.split())


# Words after which a full stop does not end a sentence ("Dr. Shah", "Sra. Ruiz").
_ABBREVIATIONS = _words_set(
    "mr mrs ms dr st sr sra srta dra no nos vs etc approx ref tel jr prof av avda"
)
# Typographic quotes and dashes are matched on purpose: drafts are pasted from mail and Word.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\s*\n+\s*")  # noqa: RUF001
_CLAUSE = re.compile(r"\s*[;:]\s+|\s+[-–—]+\s+|\s*[–—]\s*")  # noqa: RUF001
_OPENING = re.compile(r"^(?:[^\W\d_][\w'’]*\s+){0,3}[^\W\d_][\w'’]*,\s+")  # noqa: RUF001
_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*", re.UNICODE)  # noqa: RUF001


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    clauses: tuple[str, ...] = field(default=())


def normalise(text: str) -> str:
    """One spelling of apostrophes, quotes and spaces, so one set of rules reads every draft."""
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u00a0", " ")
        .replace("\r\n", "\n")
    )


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def split_sentences(text: str, min_words: int = 1) -> list[Sentence]:
    """Sentences with their offsets in `text`; fragments shorter than `min_words` are
    dropped. A one-word sentence stays by default: "Sorry." is an apology."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        chunk = text[start : match.start()]
        if "\n" not in match.group() and _ends_with_abbreviation(chunk):
            continue
        _add(sentences, text, start, match.start() + len(match.group().rstrip()), min_words)
        start = match.end()
    _add(sentences, text, start, len(text), min_words)
    return sentences


def _ends_with_abbreviation(chunk: str) -> bool:
    last = chunk.rsplit(None, 1)[-1] if chunk.strip() else ""
    return last.lower().strip(".") in _ABBREVIATIONS or bool(re.fullmatch(r"[A-Z]", last))


def _add(sentences: list[Sentence], text: str, start: int, end: int, min_words: int) -> None:
    raw = text[start:end]
    stripped = raw.strip()
    if len(words(stripped)) < min_words or not stripped:
        return
    offset = start + raw.index(stripped)
    parts = [p.strip() for p in _CLAUSE.split(stripped)]
    # "Apologies, we left the gate open": a short opening before a comma is read
    # apart from what follows, which often carries the admission or the fix.
    opening = _OPENING.match(parts[0])
    if opening and len(words(parts[0][opening.end() :])) >= 2:
        parts = [opening.group().rstrip(", "), parts[0][opening.end() :].strip(), *parts[1:]]
    clauses = tuple(p for p in parts if len(words(p)) >= 2) if len(parts) > 1 else ()
    sentences.append(Sentence(stripped, offset, offset + len(stripped), clauses))
