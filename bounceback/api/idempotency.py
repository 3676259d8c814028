"""Every API write is one transaction, and creating calls take an Idempotency-Key.

A write call (POST, PUT, PATCH, DELETE) runs whole, the answer included, in one
transaction that commits only when the answer is a success. So an answer never
lies about what was stored: a 2xx was stored, anything else was not, even when
the database went away between the write and reading the row back for the
answer (a 503 then, and nothing kept).

A client that did not hear the answer to a POST can send it again with the same
Idempotency-Key header and body: it gets the stored answer and no second row is
made, but only while it could still make the call: the token is checked again
(a revoked one gets 401) and so are the scopes the first call needed (403).
The key row and the view's writes commit in one transaction, so there is
never a stored answer without its data, nor data without its answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from bounceback.api.auth import SCOPES_CHECKED, require_scope
from bounceback.api.models import IdempotencyKey
from bounceback.apitokens.services import token_authenticate
from bounceback.errors import Forbidden

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
KEY_MAX_LENGTH = 200


class _DoNotKeep(Exception):
    def __init__(self, response: HttpResponse):
        self.response = response


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "field": f"header.{HEADER}", "errors": []},
        status=status,
    )


def _principal(request: HttpRequest) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:40]
        return f"token:{digest}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _refusal(request: HttpRequest, record: IdempotencyKey) -> HttpResponse | None:
    """The answer the call would get now if its caller may no longer make it, else None.

    A stored answer holds data (a customer's details, a new secret): a token
    revoked since, or a person whose role changed, must not read it back.
    """
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        token = token_authenticate(plaintext=authorization[7:].strip())
        if token is None:
            return JsonResponse(
                {
                    "code": "not_authenticated",
                    "message": "send a valid API token (Authorization: Bearer ...) or sign in",
                    "field": "header.Authorization",
                    "errors": [],
                },
                status=401,
            )
        request.auth = token  # type: ignore[attr-defined]
    try:
        for scope in record.scopes or []:
            require_scope(request, scope)
    except Forbidden as exc:
        return JsonResponse({**exc.as_dict(), "errors": []}, status=exc.status)
    return None


def _replay(request: HttpRequest, record: IdempotencyKey, fingerprint: str) -> HttpResponse:
    refused = _refusal(request, record)
    if refused is not None:
        return refused
    if record.fingerprint != fingerprint:
        return _error(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request",
        )
    if record.status_code is None:
        return _error(409, "idempotency_key_in_use", "a request with this key is still running")
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in WRITES or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            return self._write(request)
        except (OperationalError, InterfaceError):
            # The transaction could not even be rolled back cleanly (the
            # connection is gone): it did not commit, so nothing was stored.
            from bounceback.web.middleware import unavailable_response

            return unavailable_response(request)

    def _atomic(self, request: HttpRequest) -> HttpResponse:
        try:
            with transaction.atomic():
                response = self.get_response(request)
                if not 200 <= response.status_code < 300:
                    raise _DoNotKeep(response)
        except _DoNotKeep as refused:
            return refused.response
        return response

    def _write(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return self._atomic(request)
        key = key.strip()
        if not key or len(key) > KEY_MAX_LENGTH:
            return _error(422, "invalid", f"{HEADER} must be 1 to {KEY_MAX_LENGTH} characters long")
        principal = _principal(request)
        if principal is None:
            # Not signed in: let the API answer 401 as it would without the header.
            return self._atomic(request)
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.body])
        ).hexdigest()

        IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEY_TTL).filter(
            principal=principal, key=key
        ).delete()
        existing = IdempotencyKey.objects.filter(principal=principal, key=key).first()
        if existing is not None:
            return _replay(request, existing, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    principal=principal, key=key, fingerprint=fingerprint
                )
                response = self.get_response(request)
                # Only successes are kept: after a refusal the client fixes the
                # request and may retry with the same key.
                if not 200 <= response.status_code < 300 or response.streaming:
                    raise _DoNotKeep(response)
                record.status_code = response.status_code
                record.content_type = response.get("Content-Type", "application/json")
                record.body = response.content
                record.scopes = list(getattr(request, SCOPES_CHECKED, []))
                record.save(update_fields=["status_code", "content_type", "body", "scopes"])
        except _DoNotKeep as refused:
            return refused.response
        except IntegrityError:
            # Another request with the same key committed first.
            existing = IdempotencyKey.objects.filter(principal=principal, key=key).first()
            if existing is None:
                raise
            return _replay(request, existing, fingerprint)
        return response


def idempotency_keys_prune(*, now: datetime | None = None) -> int:
    """Forget keys older than KEY_TTL (the clock's hourly housekeeping)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now - KEY_TTL).delete()
    return deleted
