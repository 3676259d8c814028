"""Turning every refusal into the one JSON error shape the API documents."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from bounceback.errors import ServiceError

logger = logging.getLogger(__name__)

_LOCATIONS = {"body", "query", "path", "header", "form", "cookie", "file"}


def field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    """('body', 'payload', 'emails', 0) -> 'emails[0]'; ('query', 'limit') -> 'limit'."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        location = parts.pop(0)
        if location == "body" and parts and parts[0] in {"payload", "data", "body"}:
            parts.pop(0)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _body(
    code: str, message: str, field: str | None = None, errors: list[dict] | None = None
) -> dict:
    return {"code": code, "message": message, "field": field, "errors": errors or []}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ServiceError)
    def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        return api.create_response(
            request, _body(exc.code, exc.message, exc.field), status=exc.status
        )

    @api.exception_handler(ValidationError)
    def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = []
        for error in exc.errors:
            loc = error.get("loc", ())
            message = str(error.get("msg", "invalid value"))
            if error.get("type") == "json_invalid":
                message = "the request body is not valid JSON"
            details.append(
                {
                    "code": str(error.get("type", "invalid")),
                    "message": message,
                    "field": field_path(loc),
                }
            )
        field = details[0]["field"] if details else None
        summary = f"{field}: {details[0]['message']}" if details else "invalid request"
        return api.create_response(request, _body("invalid", summary, field, details), status=422)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request,
            _body(
                "not_authenticated",
                "send a valid API token (Authorization: Bearer ...) or sign in",
                "header.Authorization",
            ),
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, ServiceError):
            # django-ninja wraps whatever the body parser raises in a 400; the
            # parser's refusals (bad text, deep nesting) name their field.
            return _service_error(request, exc.__cause__)
        code = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found"}
        message = str(exc)
        if message == "Cannot parse request body":
            message = "the request body is not valid JSON"
        return api.create_response(
            request,
            _body(code.get(exc.status_code, "error"), message, "body"),
            status=exc.status_code,
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, _body("not_found", "no such resource"), status=404)

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return api.create_response(
            request, _body("forbidden", str(exc) or "not allowed"), status=403
        )

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        from bounceback.web.middleware import unavailable_response

        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        return unavailable_response(request)

    @api.exception_handler(json.JSONDecodeError)
    def _bad_json(request: HttpRequest, exc: json.JSONDecodeError) -> HttpResponse:
        return api.create_response(
            request, _body("invalid", "the request body is not valid JSON", "body"), status=400
        )
