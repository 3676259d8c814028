"""Search entries for texts the database triggers do not see (another app's notes, say).

Cases and messages are indexed by triggers (see the migrations). An app with
texts of its own that belong to a case's search, such as internal notes kept
in their own table, calls these inside the transaction that writes the text;
the full-text index follows the entry (SQLite's FTS triggers, PostgreSQL's
generated tsvector).
"""

from __future__ import annotations

from django.db import transaction

from bounceback.errors import ValidationFailed
from bounceback.search.models import SearchEntry

MAX_BODY = 100_000


@transaction.atomic
def search_entry_set(*, case_id: int, source: str, source_id: int, body: str) -> SearchEntry:
    """Index `body` as the `source` text `source_id` of the case (replacing what was
    indexed for it); refuses an unknown source."""
    if source not in SearchEntry.Source.values or source == SearchEntry.Source.CASE:
        raise ValidationFailed(f"cannot index a {source!r} text by hand", field="source")
    entry, _ = SearchEntry.objects.update_or_create(
        source=source,
        source_id=source_id,
        defaults={"case_id": case_id, "body": (body or "")[:MAX_BODY]},
    )
    return entry


def search_entry_remove(*, source: str, source_id: int) -> None:
    """Stop finding that text (a note deleted)."""
    SearchEntry.objects.filter(source=source, source_id=source_id).delete()
