"""The kit for set-based ingest: many items from outside, each checked on its own.

Transactions and signals take up to 10,000 items a call (the bulk API, CSV
imports, inbound webhooks) and share one answer: each bad item is reported
with its index and changes nothing, the good ones are stored together.

    errors: list[ItemError] = []
    parsed = items_parse(items, parse=..., errors=errors)
    ...resolve references set-based, refuse items with `ItemError(index, ...)`...
    stored = store_retrying(lambda: _store(valid))
    errors.sort(key=lambda e: e.index)

A single-item service wraps the bulk one and raises its item's error with
`item_error_raise`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

from django.db import IntegrityError

from bounceback.errors import NotFound, ServiceError, ValidationFailed


class Identified(Protocol):
    """A parsed item that may name itself by (source, external_id)."""

    @property
    def source(self) -> str: ...

    @property
    def external_id(self) -> str | None: ...


T = TypeVar("T", bound=Identified)
R = TypeVar("R")


@dataclass
class ItemError:
    """Why the item at `index` of a bulk call was refused."""

    index: int
    code: str
    message: str
    field: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "code": self.code,
            "message": self.message,
            "field": self.field,
        }


class StoredItem(NamedTuple):
    id: int
    outcome: str  # "created", "updated" or "unchanged"


@dataclass
class IngestResult:
    """What a bulk call did: each stored index's row and outcome, each refused one's error."""

    stored: dict[int, StoredItem] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)

    def ids(self, outcome: str) -> list[int]:
        return [item.id for item in self.stored.values() if item.outcome == outcome]

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.stored.values() if item.outcome == outcome)

    def answer(self, *, outcomes: Sequence[str]) -> dict[str, Any]:
        """The bulk API's body: a count per outcome, then what each index became."""
        return {
            **{outcome: self.count(outcome) for outcome in outcomes},
            "rejected": len(self.errors),
            "stored": [
                {"index": index, "id": item.id, "result": item.outcome}
                for index, item in sorted(self.stored.items())
            ],
            "errors": [e.as_dict() for e in self.errors],
        }


def items_parse(
    items: Iterable[Mapping[str, Any]],
    *,
    parse: Callable[[Mapping[str, Any]], T],
    errors: list[ItemError],
) -> list[tuple[int, T]]:
    """Each item parsed, with its index; a refused item goes to `errors` instead.

    An item naming the same (source, external_id) as an earlier one in the same
    call is refused (`duplicate_in_request`): which of the two should win is
    not ours to guess.
    """
    parsed: list[tuple[int, T]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, data in enumerate(items):
        try:
            item = parse(data)
        except ServiceError as exc:
            errors.append(ItemError(index, exc.code, exc.message, exc.field))
            continue
        if item.external_id:
            key = (item.source, item.external_id)
            if key in seen:
                errors.append(
                    ItemError(
                        index,
                        "duplicate_in_request",
                        f"external_id {item.external_id!r} already appears at index {seen[key]}",
                        "external_id",
                    )
                )
                continue
            seen[key] = index
        parsed.append((index, item))
    return parsed


def store_retrying(store: Callable[[], R]) -> R:
    """`store()`, tried up to three times.

    Another sender may store one of the same external ids between our look-up
    and our insert; the unique constraint refuses ours, and the retry finds the
    row. `store` must therefore look up what exists inside its own transaction.
    """
    for _ in range(2):
        try:
            return store()
        except IntegrityError:
            pass
    return store()


def item_error_raise(errors: Sequence[ItemError], *, not_found: Collection[str]) -> None:
    """Raise the first error of a one-item call: NotFound for the codes in
    `not_found` (a reference to a row we do not have), else ValidationFailed."""
    if not errors:
        return
    error = errors[0]
    if error.code in not_found:
        raise NotFound(error.message, field=error.field, code=error.code)
    raise ValidationFailed(error.message, field=error.field, code=error.code)
