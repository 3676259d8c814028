from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ninja import Schema

if TYPE_CHECKING:
    from bounceback.apitokens.models import ApiToken


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


# The query of a list endpoint that filters nothing: where to start, how many.
class PageFilters(Schema):
    cursor: str | None = None
    limit: int = 50


class ErrorOut(Schema):
    """Every refusal has this shape: a machine code, a message, the field path."""

    code: str
    message: str
    field: str | None = None
    errors: list[ErrorDetail] = []


# The refusals every endpoint may answer, for its `response=` (`{200: CaseOut, **ERRORS}`).
ERRORS: dict[int, type[ErrorOut]] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


class ApiTokenRefOut(Schema):
    """Which API token acted: its name and the prefix its secret starts with."""

    id: int
    name: str
    prefix: str


def token_ref(token: ApiToken | None) -> dict[str, Any] | None:
    return None if token is None else {"id": token.pk, "name": token.name, "prefix": token.prefix}
