"""The shared schema kit: the base every API schema inherits, and the error shape.

Every schema in an app's `api.py` inherits `Schema` from here, not ninja's: what
a request carries is range-checked where it is parsed, in one place, so no value
reaches a service that no database column can hold:

- an integer outside 64 bits (an id, a filter, a count): 422, never an overflow;
- a date-time outside the years 1900..2200 in UTC, or one written as a number
  (pydantic would read `0.5` as a Unix time): 422;
- in a PATCH body (`PatchSchema`), `null` for a field that cannot be empty: 422
  (leave the field out to keep its value).

Text (NUL, lone surrogates) and JSON depth are refused before this, by the
request parser (`bounceback.api.parser`). Answers are not checked: a row that is
already stored must always be readable.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, get_args

import ninja
from ninja.schema import DjangoGetter
from pydantic import ValidationInfo, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from bounceback.errors import ValidationFailed
from bounceback.inputs import datetime_in_range, integer_in_range

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic_core import CoreSchema

    from bounceback.apitokens.models import ApiToken

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _in_request(info: ValidationInfo) -> bool:
    """Whether django-ninja is reading a request: it validates a request's parts with
    the request in the context, and answers with the response status too. A schema
    built in code (`SomeOut(**row)`) has no context and is not checked."""
    context = info.context
    return isinstance(context, dict) and "request" in context and "response_status" not in context


@cache
def _field_types(model: type[ninja.Schema], name: str) -> frozenset[type]:
    """The plain types a field's annotation names (through unions and lists)."""
    field = model.model_fields.get(name)
    pending = [field.annotation] if field is not None else []
    found: set[type] = set()
    while pending:
        current = pending.pop()
        if isinstance(current, type):
            found.add(current)
        pending.extend(get_args(current))
    return frozenset(found)


_NUMBERS = frozenset({int, float, Decimal})


def _refuse(exc: ValidationFailed) -> PydanticCustomError:
    return PydanticCustomError("out_of_range", exc.message)


def _check_scalar(value: Any, field: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        integer_in_range(value, field=field)
    elif isinstance(value, dt.datetime):
        datetime_in_range(value, field=field)
    elif isinstance(value, dt.date):
        datetime_in_range(dt.datetime(value.year, value.month, value.day), field=field)


class Schema(ninja.Schema):
    """Base of every API schema (see the module's docstring for what it refuses)."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any, info: ValidationInfo) -> Any:
        # Schemas read attributes too (answers are built from rows), so without
        # this a JSON array or number would pass for an object of defaults.
        # django-ninja hands the input over wrapped (DjangoGetter).
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if _in_request(info) and (raw is None or isinstance(raw, list | tuple | str | int | float)):
            raise PydanticCustomError("model_type", "must be a JSON object")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _json_types_hold(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads 0.5 or "0.5" as a Unix time and false as 0;
        # the document says a date-time is an ISO 8601 string, a number not a boolean.
        if not _in_request(info) or info.field_name is None or value is None:
            return value
        types = _field_types(cls, info.field_name)
        if isinstance(value, bool):
            if types & _NUMBERS and bool not in types:
                raise PydanticCustomError("number_type", "must be a number, not true or false")
        elif (
            isinstance(value, int | float | str)
            and (not isinstance(value, str) or _NUMBER.match(value))
            and types & {dt.datetime, dt.date}
            and not types & _NUMBERS
        ):
            raise PydanticCustomError(
                "datetime_type", "must be an ISO 8601 date-time such as 2026-03-01T18:30:00Z"
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if not _in_request(info) or info.field_name is None:
            return value
        try:
            if isinstance(value, list | tuple | set | frozenset):
                for item in value:
                    _check_scalar(item, info.field_name)
            else:
                _check_scalar(value, info.field_name)
        except ValidationFailed as exc:
            raise _refuse(exc) from None
        return value


class PatchSchema(Schema):
    """A PATCH body: each field left out keeps its value. Fields are typed
    `X | None = None` so they can be left out; `null` is refused for every field
    but those named in `nullable` (which `null` empties), and the document says
    so."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable and _in_request(info):
            raise PydanticCustomError("null", "may not be null; leave it out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.nullable or "anyOf" not in prop:
                continue
            options = [o for o in prop["anyOf"] if o != {"type": "null"}]
            prop.pop("anyOf")
            if prop.get("default", ...) is None:
                prop.pop("default")
            if len(options) == 1:
                prop.update(options[0])
            else:
                prop["anyOf"] = options
        return schema


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
    400: ErrorOut,
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
