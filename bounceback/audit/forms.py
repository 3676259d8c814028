from __future__ import annotations

from django import forms

from bounceback.audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("", "All actions"), *AuditEvent.Action.choices], required=False
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Who or what",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "username or target"}),
    )
