from __future__ import annotations

from ninja import Schema


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
