from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    """The answer given to a creating API call, kept so a retry gets the same answer.

    Keyed by who called (a token or a user) and the key they chose, so two
    clients can never see each other's answers.
    """

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="Hash of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    scopes = models.JSONField(
        default=list, blank=True, help_text="Scopes the call needed; checked again on a replay."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
