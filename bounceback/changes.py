"""Applying an update: set what differs, save only that, say what changed.

The one way services write an edit to a row (a case's details, a webhook
subscription, a segment...): validate every value first, then call
`changes_apply` on the locked row. The returned diff is what the timeline or
the audit log records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models


def changes_apply(
    row: models.Model, changes: Mapping[str, Any], *, touch: Iterable[str] = ("updated_at",)
) -> dict[str, tuple[Any, Any]]:
    """Set each field whose value differs and save just those (and `touch`, when something
    changed); returns {field: (before, after)} for the fields that changed, empty if none."""
    diff: dict[str, tuple[Any, Any]] = {}
    for name, value in changes.items():
        before = getattr(row, name)
        if before != value:
            diff[name] = (before, value)
            setattr(row, name, value)
    if diff:
        present = {f.attname for f in row._meta.concrete_fields} | {
            f.name for f in row._meta.concrete_fields
        }
        row.save(update_fields=[*diff, *(name for name in touch if name in present)])
    return diff
