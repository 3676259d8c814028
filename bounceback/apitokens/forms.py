from __future__ import annotations

from django import forms

from bounceback.apitokens.scopes import SCOPES


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        help_text="What will use it, e.g. “Booking system sync”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="Give it only what it needs. Write includes read.",
        error_messages={"required": "Choose at least one scope."},
    )
