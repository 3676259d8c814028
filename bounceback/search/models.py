from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    """One searchable text of a case: the case itself (reference, summary, the
    customer's words and name), a message from the customer, or an internal note.

    Written only by the database triggers the migrations install (so every way
    a case or message is written, set-based ones included, is indexed in the
    same transaction) and by `search.services` for texts other apps own. The
    full-text index over `body` is the database's own: an FTS5 table on SQLite
    (`search_fts`), a stored `tsv` tsvector column with a GIN index on
    PostgreSQL; neither is a Django field.
    """

    class Source(models.TextChoices):
        CASE = "case", "Case"
        MESSAGE = "message", "Message"
        NOTE = "note", "Note"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField()
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="search_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id} of case {self.case_id}"
