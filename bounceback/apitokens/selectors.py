"""Reads of API tokens (never their secrets: only hashes are stored)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from bounceback.apitokens.models import ApiToken


def token_list() -> QuerySet[ApiToken]:
    """Active tokens first, newest first, with who created them."""
    return ApiToken.objects.select_related("created_by").order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at", "-id"
    )


def token_get(*, prefix: str) -> ApiToken | None:
    return ApiToken.objects.select_related("created_by").filter(prefix=prefix).first()
