from __future__ import annotations

from django import forms

from bounceback.mail.models import InboundEmail


class StateFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "All"), *InboundEmail.State.choices], required=False)


class ReleaseForm(forms.Form):
    case_reference = forms.CharField(
        label="Into case",
        max_length=20,
        required=False,
        help_text="A case reference such as BB-00012; leave empty to open a new case for the "
        "sender (found by address, or created).",
    )


class DiscardForm(forms.Form):
    reason = forms.CharField(
        label="Why discard it", max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
