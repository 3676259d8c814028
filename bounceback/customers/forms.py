from __future__ import annotations

import re

from django import forms
from django.conf import settings

from bounceback.customers.models import Channel

_SPLIT = re.compile(r"[\n,;]+")


def _split(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


class CustomerSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search customers")


class CustomerForm(forms.Form):
    """The new-customer form; identities are checked (and deduplicated) by customer_create."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    emails = forms.CharField(
        required=False,
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text="One per line; the first is the primary address.",
    )
    phones = forms.CharField(
        required=False,
        label="Phone numbers",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text="One per line, with the country code, e.g. +44 20 7946 0958.",
    )
    preferred_channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    locale = forms.CharField(max_length=20, initial="en", help_text="e.g. en, fr-CA")
    time_zone = forms.CharField(
        max_length=64,
        initial=settings.TIME_ZONE,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text="An IANA name such as Europe/London.",
    )
    tags = forms.CharField(
        required=False, max_length=500, help_text="Separated by commas, e.g. vip, wholesale."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_emails(self) -> list[str]:
        return _split(self.cleaned_data["emails"])

    def clean_phones(self) -> list[str]:
        return _split(self.cleaned_data["phones"])

    def clean_tags(self) -> list[str]:
        return _split(self.cleaned_data["tags"])
