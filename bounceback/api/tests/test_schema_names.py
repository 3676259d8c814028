"""Every schema has its own name in the OpenAPI document (issue 13).

django-ninja files each schema under its class name in
`components/schemas`, and when two classes share a name the last one generated
wins: every operation using the other then points at the wrong schema, and a
client generated from /api/openapi.json cannot call it. The same happens to one
class whose request (validation) and answer (serialization) schemas differ.
These tests walk the models behind every operation, as django-ninja does when
it writes the document, and check the document itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from ninja.openapi.schema import REF_TEMPLATE
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import BaseModel

from bounceback.config.api import api

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"
Mode = Literal["validation", "serialization"]


def _operations() -> Iterator[tuple[str, Operation]]:
    # Every router mounted on the API, as the document generator sees them.
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                yield f"/api{prefix}{path}", operation


def _declared(operation: Operation) -> Iterator[tuple[Mode, str, Any]]:
    """(mode, where, annotation) of each request part and each answer."""
    for model in operation.models:
        for name, field in model.model_fields.items():
            yield "validation", f"{model.__ninja_param_source__} {name}", field.annotation
    for status, model in operation.response_models.items():
        if model is not None and status is not Ellipsis:
            yield "serialization", f"response {status}", model.model_fields["response"].annotation


def _schemas_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The schema classes an annotation refers to, nested ones included."""
    seen: set[type[BaseModel]] = set()
    pending = [annotation]
    while pending:
        current = pending.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current not in seen:
                seen.add(current)
                pending.extend(f.annotation for f in current.model_fields.values())
        else:
            pending.extend(get_args(current))
    yield from seen


@cache
def _own_schema(model: type[BaseModel], mode: Mode) -> dict[str, Any]:
    schema = model.model_json_schema(
        ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema, mode=mode
    )
    schema.pop("$defs", None)
    return schema


def _where(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def _document() -> dict[str, Any]:
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/")))


def test_no_two_schema_classes_share_a_component_name() -> None:
    by_name: dict[str, set[type[BaseModel]]] = defaultdict(set)
    for _, operation in _operations():
        for _, _, annotation in _declared(operation):
            for model in _schemas_in(annotation):
                by_name[model.__name__].add(model)

    clashes = {
        name: sorted(_where(m) for m in models)
        for name, models in by_name.items()
        if len(models) > 1
    }

    assert not clashes, (
        "These schema classes share a name, so one hides the others in the OpenAPI "
        f"document: {clashes}. Give each class its own name (e.g. BreakdownPreviewOut)."
    )
    # The walk finds exactly what the document holds, so the check above saw everything.
    assert set(by_name) == set(_document()["components"]["schemas"])


def test_a_schema_used_both_ways_reads_as_it_is_written() -> None:
    modes: dict[type[BaseModel], set[Mode]] = defaultdict(set)
    for _, operation in _operations():
        for mode, _, annotation in _declared(operation):
            for model in _schemas_in(annotation):
                modes[model].add(mode)

    differing = sorted(
        _where(model)
        for model, used in modes.items()
        if len(used) == 2
        and _own_schema(model, "validation") != _own_schema(model, "serialization")
    )

    assert not differing, (
        f"{differing} are in requests and answers with different schemas under one name: "
        "split each into an ...In and an ...Out class."
    )


def _target(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return ref.removeprefix("#/components/schemas/") if ref else None


def test_every_operation_points_at_the_schema_it_declares() -> None:
    document = _document()
    components = document["components"]["schemas"]
    wrong = []
    for path, operation in _operations():
        for method in operation.methods:
            documented = document["paths"][path][method.lower()]
            for mode, where, annotation in _declared(operation):
                if where.startswith("body "):
                    content = documented["requestBody"]["content"]["application/json"]
                elif where.startswith("response "):
                    status = where.removeprefix("response ")
                    content = documented["responses"][status]["content"]["application/json"]
                else:
                    continue
                # A schema, or a list of one.
                model = (get_args(annotation) or [annotation])[0]
                target = _target(content["schema"])
                if not (isinstance(model, type) and issubclass(model, BaseModel)):
                    wrong.append(f"{method} {path} {where}: {annotation} is not a schema")
                elif target != model.__name__ or components[target] != _own_schema(model, mode):
                    wrong.append(f"{method} {path} {where}: {target} is not {_where(model)}")

    assert not wrong, "\n".join(wrong)


def _component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return document["components"]["schemas"][_target(schema) or ""]


def _request(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = document["paths"][path][method]["requestBody"]
    return _component(document, body["content"]["application/json"]["schema"])


def _answer(document: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    answer = document["paths"][path][method]["responses"][status]
    return _component(document, answer["content"]["application/json"]["schema"])


CASE, BREAKDOWN = "/api/cases/{case_id}", "/api/breakdowns/{breakdown_id}"
MODE = "/api/catalog/failure-modes/{failure_mode_id}"

# (method, path): fields the request body has, and which of them are required.
REQUESTS = {
    ("post", "/api/playbooks/preview"): ({"purpose", "body", "playbook_id"}, {"purpose", "body"}),
    ("post", "/api/segments/preview"): ({"rules"}, {"rules"}),
    ("post", f"{CASE}/review"): ({"what_went_wrong", "proposal_accepted"}, set()),
    ("put", f"{BREAKDOWN}/review"): ({"went_well", "actual_cost", "complete"}, set()),
    ("post", f"{CASE}/updates"): ({"body", "channel"}, {"body"}),
    ("post", f"{BREAKDOWN}/updates"): ({"body", "subject"}, {"body"}),
    ("post", f"{MODE}/accept"): ({"reason"}, set()),
    ("post", f"{MODE}/reject"): ({"reason"}, set()),
    ("post", "/api/catalog/failure-modes"): ({"touchpoint_id", "effect", "cause"}, None),
    ("post", "/api/funds/approvals/{request_id}/decide"): ({"decision", "value"}, {"decision"}),
    ("post", f"{CASE}/reopen"): ({"reason"}, set()),
    ("post", "/api/webhooks/subscriptions/{subscription_id}/disable"): ({"reason"}, set()),
    ("post", "/api/funds/grants/{grant_id}/reverse"): ({"reason"}, {"reason"}),
}

# (method, path, status): fields the answer has.
ANSWERS = {
    ("get", f"{BREAKDOWN}/preview", "200"): {"to_contact", "sample", "preview_subject"},
    ("post", "/api/playbooks/preview", "200"): {"subject", "problems", "coach", "findings"},
    ("post", "/api/segments/preview", "200"): {"matching"},
    ("get", f"{CASE}/timeline", "200"): {"kind", "actor", "message", "direction"},
    ("get", f"{BREAKDOWN}/timeline", "200"): {"kind", "actor"},
    ("get", "/api/catalog/failure-modes", "200"): {"rpn", "observed", "votes_up"},
    ("post", f"{MODE}/accept", "200"): {"rpn", "observed", "decided_by"},
    ("post", f"{MODE}/reject", "200"): {"rpn", "observed", "decided_by"},
    ("post", f"{BREAKDOWN}/review/action-items/{{item_id}}/failure-mode", "201"): {
        "id",
        "title",
        "status",
    },
}


def test_the_operations_issue_13_names_document_their_own_fields() -> None:
    # What a client downloads: the committed document.
    document = json.loads(COMMITTED.read_text())

    for (method, path), (fields, required) in REQUESTS.items():
        schema = _request(document, method, path)
        assert fields <= set(schema["properties"]), (method, path, schema["title"])
        if required is not None:
            assert set(schema.get("required", [])) == required, (method, path, schema["title"])
    for (method, path, status), fields in ANSWERS.items():
        schema = _answer(document, method, path, status)
        assert fields <= set(schema["properties"]), (method, path, schema["title"])
    # Each timeline has its own event schema: only a case's carries the message.
    assert "message" not in _answer(document, "get", f"{BREAKDOWN}/timeline", "200")["properties"]
    proposal = f"{BREAKDOWN}/review/action-items/{{item_id}}/failure-mode"
    assert len(_answer(document, "post", proposal, "201")["properties"]) == 3
