"""The staff views' one way to carry out a write: call a service, show its refusal, or say
it is done and redirect.

A view builds its form and knows its page; `perform` does the rest, so every page
answers a refusal the same way (the form comes back with the service's reason, or the
reason is flashed) and a success the same way (a flashed message and a redirect, so a
reload never posts twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast, overload

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from bounceback.errors import ServiceError
from bounceback.web.forms import add_service_error, as_sentence

T = TypeVar("T")
F = TypeVar("F", bound=forms.BaseForm)


@overload
def perform(
    request: HttpRequest,
    call: Callable[[dict[str, Any]], T],
    *,
    form: F,
    page: Callable[[], HttpResponse],
    success: str | Callable[[T], str],
    redirect_to: str | Callable[[T], str],
    refuse: Callable[[F, ServiceError], None] = add_service_error,
) -> HttpResponse: ...


@overload
def perform(
    request: HttpRequest,
    call: Callable[[], T],
    *,
    success: str | Callable[[T], str],
    redirect_to: str | Callable[[T], str],
    refused_to: str | None = None,
    sentence: bool = False,
) -> HttpResponse: ...


def perform(
    request: HttpRequest,
    call: Callable[[dict[str, Any]], T] | Callable[[], T],
    *,
    success: str | Callable[[T], str],
    redirect_to: str | Callable[[T], str],
    form: F | None = None,
    page: Callable[[], HttpResponse] | None = None,
    refuse: Callable[[F, ServiceError], None] = add_service_error,
    refused_to: str | None = None,
    sentence: bool = False,
) -> HttpResponse:
    """Call the service behind a form or a button and answer the request.

    With a `form`: an invalid (or unbound, on a GET) form shows `page`; for a valid
    one `call` gets the form's cleaned data. A refusal is bound to the form by
    `refuse` and `page` shows it again (with whatever status the page answers).
    Without a form (a button): `call` takes nothing; a refusal is flashed as an
    error (as a sentence with `sentence`), and the answer redirects to `redirect_to`
    either way (a refusal to `refused_to` when the success's address depends on the result).
    On success the `success` message is flashed and the answer redirects to
    `redirect_to`; either may be worked out from what the service returned.
    `redirect_to` is a URL or a URL pattern's name, as `redirect` takes them.
    """
    if form is None:
        try:
            result = cast("Callable[[], T]", call)()
        except ServiceError as error:
            back = refused_to or redirect_to
            assert isinstance(back, str)
            messages.error(request, as_sentence(error.message) if sentence else error.message)
            return redirect(back)
    else:
        assert page is not None
        if not form.is_valid():
            return page()
        try:
            result = cast("Callable[[dict[str, Any]], T]", call)(form.cleaned_data)
        except ServiceError as error:
            refuse(form, error)
            return page()
    messages.success(request, success(result) if callable(success) else success)
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to)
