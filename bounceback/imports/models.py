from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    """One CSV import: what was read, what was stored, and every rejected row."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", "Customers"
        TRANSACTIONS = "transactions", "Transactions"
        SIGNALS = "signals", "Signals"
        CASES = "cases", "Cases"
        INTERACTIONS = "interactions", "Interactions"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    file_name = models.CharField(max_length=500)
    column_map = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # [{"line": 12, "field": "amount", "message": "..."}], capped to keep rows small.
    rejections = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("run_import", "Can import customers and transactions from CSV")]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.file_name}"
