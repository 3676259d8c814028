from __future__ import annotations

from django import forms

from bounceback.customers.models import Channel
from bounceback.interactions.models import Interaction

_LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


class InteractionForm(forms.Form):
    """Log a call, a message or a note on the customer's timeline."""

    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    direction = forms.ChoiceField(
        choices=Interaction.Direction.choices, initial=Interaction.Direction.INBOUND
    )
    subject = forms.CharField(required=False, max_length=300)
    body = forms.CharField(
        label="What was said",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write what was said or done."},
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL_MINUTE),
        help_text="Leave empty for now.",
    )
