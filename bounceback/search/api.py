"""The search API: the staff search box's answer for other systems and scripts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router

from bounceback.api.auth import require_scope
from bounceback.api.schemas import ERRORS, Schema
from bounceback.errors import ValidationFailed
from bounceback.search.selectors import MAX_RESULTS, case_search

router = Router(tags=["search"])


class CaseSearchFilters(Schema):
    q: str = Field(
        ...,
        description="A case reference (BB-00081), a customer's email or phone number, "
        "or words from a case's summary, description, customer name, messages and notes",
    )
    limit: int = Field(MAX_RESULTS, description=f"1 to {MAX_RESULTS}")


class SearchSnippetOut(Schema):
    text: str = Field(..., description="Part of the text that matched")
    marks: list[tuple[int, int]] = Field(
        ..., description="[start, end) character ranges of `text` that matched the search"
    )


class CaseSearchHitOut(Schema):
    id: int
    reference: str | None
    summary: str
    status: str
    customer_id: int
    customer_name: str
    matched: str = Field(
        ...,
        description="What matched: reference, customer (email or phone), case (its own "
        "text or customer name), message (a customer's message or an internal note) "
        "or note (a note another app keeps)",
    )
    snippet: SearchSnippetOut


class CaseSearchPage(Schema):
    items: list[CaseSearchHitOut]


@router.get(
    "/cases",
    response={200: CaseSearchPage, **ERRORS},
    summary="Find cases by reference, customer or words, newest first",
)
def search_cases(request: HttpRequest, filters: Query[CaseSearchFilters]) -> dict[str, Any]:
    require_scope(request, "cases:read")
    if not 1 <= filters.limit <= MAX_RESULTS:
        raise ValidationFailed(f"limit must be between 1 and {MAX_RESULTS}", field="limit")
    if not filters.q.strip():
        raise ValidationFailed("say what to search for", field="q")
    hits = case_search(query=filters.q, limit=filters.limit)
    return {
        "items": [
            {
                "id": hit.case.pk,
                "reference": hit.case.reference,
                "summary": hit.case.summary,
                "status": hit.case.status,
                "customer_id": hit.case.customer_id,
                "customer_name": hit.case.customer.name,
                "matched": hit.matched,
                "snippet": {"text": hit.snippet.text, "marks": hit.snippet.marks},
            }
            for hit in hits
        ]
    }
