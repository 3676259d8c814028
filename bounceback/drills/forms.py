from __future__ import annotations

from typing import Any

from django import forms

from bounceback.accounts.models import Team, User
from bounceback.drills.models import (
    Drill,
    DrillLogEntry,
    ImprovementItem,
    Persona,
    Rating,
    Scenario,
)
from bounceback.drills.services import INJECT_CHANNELS, InjectInput
from bounceback.playbooks.models import Playbook


def _people() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class DrillCreateForm(forms.Form):
    scenario = forms.ModelChoiceField(
        queryset=Scenario.objects.select_related("playbook").order_by("playbook__name", "title"),
        label="Scenario",
    )
    mode = forms.ChoiceField(
        choices=Drill.Mode.choices,
        initial=Drill.Mode.LIVE,
        widget=forms.RadioSelect,
        label="How it runs",
    )
    title = forms.CharField(max_length=200, required=False, label="Title")
    responders = forms.ModelMultipleChoiceField(
        queryset=_people(),
        required=False,
        label="Responders",
        help_text="They work the injected complaints in the normal case pages, in turn.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    scribe = forms.ModelChoiceField(
        queryset=_people(), required=False, label="Scribe", help_text="Logs the decisions."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
    start_now = forms.BooleanField(required=False, initial=True, label="Start it now")


class LogForm(forms.Form):
    text = forms.CharField(
        max_length=2000, label="Decision or observation", widget=forms.Textarea(attrs={"rows": 2})
    )
    kind = forms.ChoiceField(
        choices=[(DrillLogEntry.Kind.DECISION, "Decision"), (DrillLogEntry.Kind.NOTE, "Note")],
        initial=DrillLogEntry.Kind.DECISION,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why it is called off")


class AdjustForm(forms.Form):
    rating = forms.ChoiceField(choices=Rating.choices, label="Rating")
    reason = forms.CharField(max_length=1000, label="Reason")


class ImprovementForm(forms.Form):
    text = forms.CharField(max_length=2000, label="What to improve")
    kind = forms.ChoiceField(choices=ImprovementItem.Kind.choices, label="It becomes")
    owner = forms.ModelChoiceField(queryset=_people(), required=False, label="Owner")
    due_on = forms.DateField(
        required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"})
    )


class ScheduleForm(forms.Form):
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.filter(archived=False).order_by("name")
    )
    every_days = forms.IntegerField(min_value=1, max_value=366, initial=30, label="Every (days)")
    next_at = forms.DateTimeField(
        label="First drill", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class ScenarioForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InjectForm(forms.Form):
    offset_minutes = forms.IntegerField(min_value=0, max_value=1440, label="Minutes after start")
    persona = forms.ChoiceField(choices=Persona.choices)
    customer_name = forms.CharField(max_length=200, label="Customer")
    channel = forms.ChoiceField(
        choices=[(c.value, c.label) for c in INJECT_CHANNELS], label="Channel"
    )
    language = forms.CharField(max_length=20, initial="en")
    summary = forms.CharField(max_length=200)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    expected_response = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Expected response"
    )
    acknowledge_minutes = forms.IntegerField(
        min_value=1, max_value=1440, initial=5, label="Acknowledge within (min)"
    )
    apologise_minutes = forms.IntegerField(
        min_value=1, max_value=1440, initial=15, label="Apologise within (min)"
    )

    def as_input(self) -> InjectInput:
        return InjectInput(**{k: v for k, v in self.cleaned_data.items() if k != "DELETE"})


InjectFormSet = forms.formset_factory(InjectForm, extra=1, can_delete=True, max_num=30)
