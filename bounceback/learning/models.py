from __future__ import annotations

import hashlib

from django.db import models
from django.utils import timezone


class CaseText(models.Model):
    """A case's text as a vector (bounceback.learning.text), kept for similarity and themes.

    `vector` is float32 bytes: the hashed word counts, then the unit meaning
    vector. `digest` is a hash of the text it was made from, so a changed case
    is seen and made again.
    """

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="text_vector"
    )
    vector = models.BinaryField()
    version = models.PositiveSmallIntegerField()
    digest = models.CharField(max_length=32)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"text of case {self.case_id}"

    @staticmethod
    def digest_of(text: str) -> str:
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
