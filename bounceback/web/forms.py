"""Helpers every staff form shares: how a service's refusal shows on a form."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from bounceback.errors import ServiceError, ValidationFailed


def add_service_error(
    form: forms.BaseForm,
    error: ServiceError,
    *,
    field_map: Mapping[str, str | None] | None = None,
    sentence: bool = False,
) -> None:
    """Show a service's refusal on the form field it names (or on the form as a whole).

    Services name fields the way the API does ("emails[1]", "site",
    "transaction_filter.kind"); `field_map` translates a service field, or the
    dotted path it starts with, into a form field (None: the form as a whole).
    With `sentence` the message reads as a sentence (see `as_sentence`).
    """
    form.add_error(
        _form_field(form, error.field or "", field_map or {}),
        as_sentence(error.message) if sentence else error.message,
    )


def add_refusal(
    form: forms.BaseForm,
    error: ServiceError,
    *,
    field_map: Mapping[str, str | None] | None = None,
    sentence: bool = False,
) -> None:
    """Show a refused step: a rejected value (ValidationFailed) on the field it names, as
    `add_service_error` does; any other refusal (a Conflict with the state of things,
    Forbidden, NotFound) as a sentence over the form as a whole, whatever field it names.
    """
    if isinstance(error, ValidationFailed):
        add_service_error(form, error, field_map=field_map, sentence=sentence)
    else:
        add_banner(form, error)


def add_banner(form: forms.BaseForm, error: ServiceError) -> None:
    """Show a refusal as a sentence over the form as a whole, whatever field it names (for
    a button whose form has nothing to show an error on)."""
    form.add_error(None, as_sentence(error.message))


def _form_field(
    form: forms.BaseForm, field: str, field_map: Mapping[str, str | None]
) -> str | None:
    # The longest dotted path the map names wins ("transaction_filter.kind" before
    # "transaction_filter"); a list index ("emails[1]") names its list.
    parts = field.split("[", 1)[0].split(".")
    for end in range(len(parts), 0, -1):
        path = ".".join(parts[:end])
        if path in field_map:
            target = field_map[path]
            return target if target in form.fields else None
    return parts[0] if parts[0] in form.fields else None


def as_sentence(text: str) -> str:
    """A service's message as a sentence for a page: capitalised, ending in a stop."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
