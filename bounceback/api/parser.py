"""Reading a request's body and query before any schema sees it.

The one place every API request passes: text no database stores the same way
(a NUL character, a lone surrogate) and JSON nested absurdly deep are refused
here, with a 422 naming the field, so no endpoint can forget to and PostgreSQL
and SQLite take the same inputs. The checks themselves are the input kit's
(`bounceback.inputs`), shared with forms, imports and inbound webhooks.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from bounceback.inputs import json_load_checked, text_refuse_unstorable


class CheckedParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return json_load_checked(request.body)  # type: ignore[no-any-return]

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        for key, values in data.lists():
            for value in values:
                text_refuse_unstorable(value, field=key)
        return result
