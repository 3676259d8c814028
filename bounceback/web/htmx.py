"""Small helpers for answering htmx requests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    """True for a request htmx sent (and not for a history restore, which wants a full page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Caches must keep the fragment and the full page apart."""
    patch_vary_headers(response, ["HX-Request"])
    return response
