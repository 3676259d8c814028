"""The loyalty page's filters: a period of failures, and where and whom to look at."""

from __future__ import annotations

from datetime import datetime

from django import forms

from bounceback.errors import ValidationFailed
from bounceback.failuremodes.models import FailureMode
from bounceback.loyalty.periods import loyalty_period
from bounceback.loyalty.selectors import Filters
from bounceback.segments.models import Segment
from bounceback.sites.models import Site


class LoyaltyFilterForm(forms.Form):
    since = forms.DateField(
        required=False, label="Failures from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    site = forms.ChoiceField(required=False, label="Site")
    segment = forms.ChoiceField(required=False, label="Segment")
    failure_mode = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Failure mode"
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        sites = Site.objects.order_by("name").values_list("code", "name")
        segments = Segment.objects.order_by("priority", "name").values_list("slug", "name")
        modes = FailureMode.objects.order_by("title").values_list("id", "title")
        choices = {
            "site": [("", "Every site"), *sites],
            "segment": [("", "Every customer"), *segments],
            "failure_mode": [("", "Every failure mode"), *((str(pk), t) for pk, t in modes)],
        }
        for name, options in choices.items():
            self.fields[name].choices = options  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        try:
            self._period = loyalty_period(since=data.get("since"), until=data.get("until"))
        except ValidationFailed as refusal:
            self.add_error(refusal.field if refusal.field in self.fields else None, str(refusal))
        return data

    def period(self) -> tuple[datetime, datetime]:
        """The period as aware datetimes in the viewer's zone: [first day 00:00, day after last)."""
        return self._period

    def filters(self) -> Filters:
        return Filters(
            site=self.cleaned_data.get("site") or "",
            segment=self.cleaned_data.get("segment") or "",
            failure_mode=self.cleaned_data.get("failure_mode"),
        )
