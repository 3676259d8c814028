"""The shape every writing endpoint shares: check the caller may, know who acts.

    actor = act(request, "cases:write")
    services.case_close(case=_case(case_id), actor=actor)
    return _detail(case_id)

`act` comes first, before any lookup, so a caller without the scope is refused
(403) before learning whether a row exists (404). The answer to a write is the
row read back as stored, through the app's own loader (`_detail`, `_load`...):
never the service's in-memory object, which may lack the relations the schema
reads. A read endpoint that needs no actor calls `require_scope` alone;
`by_id` turns an id in the request into its row, or a 404 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence, Sized
from typing import TypeVar, overload

from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from bounceback.actors import Actor
from bounceback.api.auth import request_actor, require_scope
from bounceback.errors import NotFound, ValidationFailed
from bounceback.ingest import IngestResult

M = TypeVar("M", bound=Model)


def act(request: HttpRequest, scope: str) -> Actor:
    """Refuse a caller without `scope` (Forbidden), else who is acting: the signed-in
    person, or the API token acting for its creator."""
    require_scope(request, scope)
    return request_actor(request)


@overload
def by_id(model: type[M], pk: int, field: str, label: str) -> M: ...
@overload
def by_id(model: type[M], pk: int | None, field: str, label: str) -> M | None: ...
def by_id(model: type[M], pk: int | None, field: str, label: str) -> M | None:
    """The row an id in the request names (None for no id), or NotFound naming the field."""
    if pk is None:
        return None
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no {label} with id {pk}", field=field)
    return row


def bulk_items_check(items: Sized) -> None:
    """Refuse a bulk call with no items, or more than `settings.BULK_UPSERT_LIMIT`."""
    limit = settings.BULK_UPSERT_LIMIT
    if len(items) > limit:
        raise ValidationFailed(f"at most {limit} items per call, got {len(items)}", field="items")
    if not items:
        raise ValidationFailed("items is empty", field="items")


def bulk_answer(result: IngestResult, *, outcomes: Sequence[str]) -> HttpResponse:
    """A bulk call's answer, written directly: validating 10,000 `stored` entries
    against the response schema costs a fifth of the call, and
    `IngestResult.answer` builds the body to that schema."""
    body = result.answer(outcomes=outcomes)
    return HttpResponse(json.dumps(body), content_type="application/json")
