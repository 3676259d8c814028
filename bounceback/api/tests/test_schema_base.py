"""Every request schema inherits the checks of `bounceback.api.schemas.Schema`
(issue 13): a schema written on ninja's own base would let out-of-range
integers and dates, and `null` in a PATCH, through to the database again."""

from __future__ import annotations

from pydantic import BaseModel

from bounceback.api.schemas import PatchSchema, Schema
from bounceback.api.tests.test_schema_names import _declared, _operations, _schemas_in


def test_every_request_schema_inherits_the_checked_base() -> None:
    unchecked = sorted(
        f"{model.__module__}.{model.__qualname__}"
        for _, operation in _operations()
        for mode, _, annotation in _declared(operation)
        if mode == "validation"
        for model in _schemas_in(annotation)
        if issubclass(model, BaseModel) and not issubclass(model, Schema)
    )

    assert not unchecked, f"inherit bounceback.api.schemas.Schema: {unchecked}"


def test_every_patch_body_refuses_null_unless_it_says_so() -> None:
    bodies = {
        f"{path} {model.__name__}"
        for path, operation in _operations()
        if "PATCH" in operation.methods
        for _, where, annotation in _declared(operation)
        if where.startswith("body ")
        for model in [annotation]
        if not issubclass(model, PatchSchema)
    }

    assert not bodies, f"PATCH bodies should be PatchSchema: {bodies}"
