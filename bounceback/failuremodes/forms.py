"""Forms for the catalog pages: each feeds one service in failuremodes/services.py."""

from __future__ import annotations

from typing import Any

from django import forms

from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.scales import BAND_WORDS
from bounceback.failuremodes.selectors import DEFAULT_PERIOD, DEFAULT_RPN_THRESHOLD, PERIODS
from bounceback.sites.models import Site

SEVERITY_WORDS = {
    1: "no effect the customer notices",
    3: "a minor annoyance",
    5: "the customer is put out",
    7: "the service fails them",
    9: "harm, danger or a lost customer",
    10: "harm without warning",
}
DETECTION_WORDS = {
    1: "we always notice first",
    3: "we usually notice first",
    5: "we notice about half the time",
    7: "usually the customer tells us",
    10: "only the customer can tell us",
}


def _score_choices(words: dict[int, str]) -> list[tuple[int, str]]:
    return [(n, f"{n}: {words[n]}" if n in words else str(n)) for n in range(1, 11)]


def _score_field(label: str, words: dict[int, str], help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        choices=[("", "Choose…"), *_score_choices(words)],
        coerce=int,
        label=label,
        help_text=help_text,
        error_messages={"required": f"Score the {label.lower()} from 1 to 10."},
    )


def _textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class _TouchpointChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.site.name})" if obj.site_id else f"{obj.name} (all sites)"


def _touchpoint_field() -> _TouchpointChoiceField:
    return _TouchpointChoiceField(
        queryset=Touchpoint.objects.select_related("site").order_by("position", "name", "id"),
        label="Where in the journey",
        empty_label="Choose a touchpoint…",
        error_messages={"required": "Choose the touchpoint where it goes wrong."},
    )


class CatalogFilterForm(forms.Form):
    period = forms.TypedChoiceField(
        choices=[(p, f"Last {p} days") for p in PERIODS],
        coerce=int,
        required=False,
        label="Count cases over",
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="All sites",
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {"period": data.get("period") or DEFAULT_PERIOD, "site": data.get("site")}


class CoverageFilterForm(forms.Form):
    threshold = forms.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        label="High risk from RPN",
        help_text="Severity 9 or 10 is high risk whatever the RPN.",
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="All sites",
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "threshold": data.get("threshold") or DEFAULT_RPN_THRESHOLD,
            "site": data.get("site"),
        }


class FailureModeForm(forms.Form):
    """Propose a failure mode, or (for leads) edit and re-score one."""

    touchpoint = _touchpoint_field()
    title = forms.CharField(
        max_length=160,
        help_text="Short and specific, e.g. “Power outage during an event”.",
        error_messages={"required": "Give the failure mode a title."},
    )
    description = forms.CharField(required=False, widget=_textarea(2))
    effect = forms.CharField(
        required=False, widget=_textarea(2), label="What the customer experiences"
    )
    cause = forms.CharField(required=False, widget=_textarea(2), label="Why it happens")
    severity = _score_field("Severity", SEVERITY_WORDS, "How badly it hurts the customer.")
    occurrence = _score_field("Occurrence", BAND_WORDS, "How often it happens.")
    detection = _score_field(
        "Detection", DETECTION_WORDS, "How likely the customer notices before we do."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The catalog page also carries the filter form: keep the ids apart.
        kwargs.setdefault("auto_id", "fm_%s")
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_for(cls, mode: FailureMode) -> dict[str, Any]:
        return {
            "touchpoint": mode.touchpoint_id,
            **{
                name: getattr(mode, name)
                for name in (
                    "title",
                    "description",
                    "effect",
                    "cause",
                    "severity",
                    "occurrence",
                    "detection",
                )
            },
        }

    def changes(self, mode: FailureMode) -> dict[str, Any]:
        """Only what differs from the stored mode."""
        data = self.cleaned_data
        out = {}
        for name, value in data.items():
            current = getattr(mode, name)
            if current != value:
                out[name] = value
        return out


class VoteForm(forms.Form):
    value = forms.TypedChoiceField(
        choices=[(1, "A real risk"), (-1, "Not a risk")],
        coerce=int,
        error_messages={"required": "Vote for or against."},
    )
    comment = forms.CharField(required=False, max_length=300)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Accept"), ("reject", "Reject")],
        error_messages={"required": "Accept or reject it."},
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=_textarea(2),
        help_text="Needed to reject: the proposer and the voters are owed one.",
    )


class RetireForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, widget=_textarea(2))


class TouchpointForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "Name the touchpoint."})
    description = forms.CharField(required=False, widget=_textarea(2))
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="All sites",
    )
    position = forms.IntegerField(
        min_value=0,
        max_value=10_000,
        initial=0,
        help_text="Order in the customer journey: lower comes first.",
    )

    @classmethod
    def initial_for(cls, touchpoint: Touchpoint) -> dict[str, Any]:
        return {
            "name": touchpoint.name,
            "description": touchpoint.description,
            "site": touchpoint.site.code if touchpoint.site_id and touchpoint.site else None,
            "position": touchpoint.position,
        }
