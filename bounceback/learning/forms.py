from __future__ import annotations

from django import forms

from bounceback.accounts.models import User
from bounceback.failuremodes.models import Touchpoint
from bounceback.learning.models import Theme


class ThemeRenameForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")


class ThemeMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Theme.objects.active(), label="Merge into", empty_label="Choose a theme"
    )


class ThemeProposeForm(forms.Form):
    touchpoint = forms.ModelChoiceField(
        queryset=Touchpoint.objects.all(), label="Touchpoint", empty_label="Where it goes wrong"
    )
    title = forms.CharField(max_length=160, required=False, label="Title")


class ProblemForm(forms.Form):
    title = forms.CharField(max_length=200)
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    corrective_action = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Corrective action"
    )
    action_owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, label="Owner"
    )
    action_due = forms.DateField(
        required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"})
    )
    workaround = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Shown on every new case that matches the problem.",
    )
