"""Staff forms for subscriptions and channels: shapes only; the services validate."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from bounceback.webhooks.events import ALL, EVENTS
from bounceback.webhooks.models import DEFAULT_MAPPING, InboundChannel

EVENT_CHOICES = [(ALL, "Every event, including ones added later"), *EVENTS.items()]


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=120)
    url = forms.CharField(
        max_length=500, label="URL", help_text="Where we POST events: an http:// or https:// URL."
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, label="Events"
    )


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.CharField(
        max_length=55,
        help_text="The last part of the URL the provider posts to; cannot change later.",
    )
    kind = forms.ChoiceField(choices=InboundChannel.Kind.choices)
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        help_text="JSON: where each field is in the provider's body, as dotted paths. "
        "Leave out a field to use the generic format's path. Defaults: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULT_MAPPING.items()),
    )
    outbound_url = forms.CharField(
        max_length=500,
        required=False,
        label="Outbound URL",
        help_text="Where replies to customers are POSTed. Empty: this channel only receives.",
    )
    active = forms.BooleanField(required=False, initial=True)
    delivers = forms.ChoiceField(
        choices=[("messages", "Messages to cases"), ("signals", "Signals for discovery")],
        initial="messages",
        required=False,
        help_text="Signals are recorded for discovery's rules instead of opening a case.",
    )

    def clean_delivers(self) -> str:
        return self.cleaned_data.get("delivers") or "messages"

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["slug"]

    def clean_mapping(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("mapping") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('write a JSON object such as {"text": "Body"}')
        return value


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)
