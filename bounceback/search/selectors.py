"""One search box for cases: a reference, a customer's email or phone, or words.

- `BB-00081` (or `bb-81`, or `81`): the case with that reference, first.
- an email address or a phone number: that customer's cases, newest first.
- words: the full-text index over each case's reference, summary,
  description and customer name, the customer's messages and internal notes
  (SQLite FTS5, PostgreSQL tsvector with GIN; see the migrations). Every word
  must appear; the last may be the start of a word ("refu" finds "refund").
  Newest texts first: a desk looks for what is happening now.

Each hit carries a snippet of the text that matched with the matching words
marked (`Snippet.marks`, character ranges), so a page can highlight them and
the API can hand them on. A search is at most five queries, whatever it finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models.functions import Lower

from bounceback.cases.models import Case
from bounceback.customers.models import CustomerEmail, CustomerPhone

MAX_RESULTS = 50
# Full-text rows read to find MAX_RESULTS distinct cases (a case can match in
# its summary and several messages).
ENTRY_WINDOW = 200
MAX_WORDS = 8
START, STOP = "\x02", "\x03"

_REFERENCE = re.compile(r"^\s*(?:bb[-\s]?)?0*(\d{1,9})\s*$", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
_PHONE_JUNK = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class Snippet:
    """Text with the ranges [start, end) that matched the search."""

    text: str
    marks: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def from_marked(cls, raw: str) -> Snippet:
        """A snippet from text whose matches sit between START and STOP characters."""
        text: list[str] = []
        marks: list[tuple[int, int]] = []
        length = 0
        opened: int | None = None
        for ch in raw:
            if ch == START:
                opened = length
            elif ch == STOP and opened is not None:
                marks.append((opened, length))
                opened = None
            else:
                text.append(ch)
                length += 1
        return cls("".join(text), marks)

    @classmethod
    def whole(cls, text: str) -> Snippet:
        return cls(text, [(0, len(text))] if text else [])


@dataclass(frozen=True)
class SearchHit:
    case: Case
    # What matched: "reference", "customer" (email or phone), "case" (its own
    # text), "message" (a message or internal note).
    matched: str
    snippet: Snippet


def _reference_of(query: str) -> str | None:
    found = _REFERENCE.match(query)
    return f"BB-{int(found.group(1)):05d}" if found else None


def _phone_of(query: str) -> str | None:
    raw = _PHONE_JUNK.sub("", query.strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = raw.removeprefix("+")
    return raw if digits.isdigit() and 6 <= len(digits) <= 15 else None


def words_of(query: str) -> list[str]:
    """The words a full-text search looks for: lowercase, at most MAX_WORDS."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_WORDS]


def _fts_sqlite(words: list[str]) -> list[tuple[int, str, str]]:
    # Each word quoted (FTS5 syntax in a customer's words must not parse as
    # operators); the last one as a prefix when it is long enough to narrow.
    terms = [f'"{w}"' for w in words[:-1]]
    last = words[-1]
    terms.append(f'"{last}"*' if len(last) >= 2 else f'"{last}"')
    sql = (
        "SELECT e.case_id, e.source, snippet(search_fts, 0, char(2), char(3), '…', 14) "
        "FROM search_fts JOIN search_searchentry e ON e.id = search_fts.rowid "
        "WHERE search_fts MATCH %s ORDER BY search_fts.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [" ".join(terms), ENTRY_WINDOW])
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def _fts_postgresql(words: list[str]) -> list[tuple[int, str, str]]:
    last = words[-1]
    terms = [*words[:-1], f"{last}:*" if len(last) >= 2 else last]
    sql = (
        "SELECT e.case_id, e.source, ts_headline('simple', e.body, q, %s) "
        "FROM (SELECT id, case_id, source, body FROM search_searchentry "
        "WHERE tsv @@ to_tsquery('simple', %s) ORDER BY id DESC LIMIT %s) e, "
        "to_tsquery('simple', %s) q ORDER BY e.id DESC"
    )
    options = f'StartSel="{START}", StopSel="{STOP}", MaxWords=24, MinWords=10'
    query = " & ".join(terms)
    with connection.cursor() as cursor:
        cursor.execute(sql, [options, query, ENTRY_WINDOW, query])
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def _text_matches(words: list[str]) -> list[tuple[int, str, str]]:
    if not words:
        return []
    if connection.vendor == "postgresql":
        return _fts_postgresql(words)
    return _fts_sqlite(words)


def case_search(*, query: str, limit: int = MAX_RESULTS) -> list[SearchHit]:
    """Cases matching the search box's text, best kind of match first (see module doc).

    Every case is searched: callers check the reader may see cases (the page's
    cases.view_case permission, the API's cases:read scope).
    """
    query = query.strip()[:200]
    if not query:
        return []
    found: dict[int, tuple[str, Snippet]] = {}
    reference = _reference_of(query)
    if reference:
        for pk, ref in Case.objects.filter(reference=reference).values_list("pk", "reference"):
            found[pk] = ("reference", Snippet.whole(ref or ""))
    customers: dict[int, str] = {}
    if "@" in query:
        emails = CustomerEmail.objects.annotate(low=Lower("address")).filter(low=query.lower())
        customers = dict(emails.values_list("customer_id", "address")[:5])
    elif (phone := _phone_of(query)) and not reference:
        phones = CustomerPhone.objects.filter(number__in={phone, f"+{phone.lstrip('+')}"})
        customers = dict(phones.values_list("customer_id", "number")[:5])
    if customers:
        rows = Case.objects.filter(customer_id__in=list(customers)).order_by("-created_at", "-id")
        for pk, customer_id in rows.values_list("pk", "customer_id")[:limit]:
            found.setdefault(pk, ("customer", Snippet.whole(customers[customer_id])))
    if not customers:
        for case_id, source, marked in _text_matches(words_of(query)):
            if len(found) >= limit:
                break
            found.setdefault(case_id, (source, Snippet.from_marked(marked)))
    cases: dict[int, Any] = Case.objects.select_related("customer", "assignee", "site").in_bulk(
        list(found)[:limit]
    )
    return [
        SearchHit(case=cases[pk], matched=matched, snippet=snippet)
        for pk, (matched, snippet) in list(found.items())[:limit]
        if pk in cases
    ]
