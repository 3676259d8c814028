"""Helpers every staff form shares."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from bounceback.errors import ServiceError


def add_service_error(
    form: forms.BaseForm, error: ServiceError, *, field_map: Mapping[str, str | None] | None = None
) -> None:
    """Show a service's refusal on the form field it names (or on the form as a whole).

    Services name fields the way the API does ("emails[1]", "site"); `field_map`
    translates a service field into a form field when the names differ.
    """
    name = (error.field or "").split("[", 1)[0].split(".", 1)[0]
    if field_map and name in field_map:
        target = field_map[name]
    else:
        target = name if name in form.fields else None
    form.add_error(target, error.message)


def as_sentence(text: str) -> str:
    """A service's message as a sentence for a page: capitalised, ending in a stop."""
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
