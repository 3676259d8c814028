from __future__ import annotations

from django import forms

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
