"""The dashboards' filters as a form: period, site, team and segment."""

from __future__ import annotations

from django import forms

from bounceback.dashboards.filters import DashboardFilters, dashboard_filters
from bounceback.errors import ValidationFailed


class DashboardFilterForm(forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="to (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    site = forms.ChoiceField(required=False, label="Site")
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team")
    segment = forms.ChoiceField(required=False, label="Segment")

    def __init__(self, *args: object, **kwargs: object) -> None:
        from bounceback.accounts.models import Team
        from bounceback.segments.models import Segment
        from bounceback.sites.models import Site

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = {
            "site": [
                ("", "Every site"),
                *Site.objects.order_by("name").values_list("code", "name"),
            ],
            "team": [
                ("", "Every team"),
                *(
                    (str(pk), name)
                    for pk, name in Team.objects.order_by("name").values_list("pk", "name")
                ),
            ],
            "segment": [
                ("", "Every customer"),
                *Segment.objects.order_by("priority", "name").values_list("slug", "name"),
            ],
        }
        for name, options in choices.items():
            self.fields[name].choices = options  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        try:
            self._filters = dashboard_filters(
                since=data.get("since"),  # type: ignore[arg-type]
                until=data.get("until"),  # type: ignore[arg-type]
                site=str(data.get("site") or ""),
                team=data.get("team"),  # type: ignore[arg-type]
                segment=str(data.get("segment") or ""),
            )
        except ValidationFailed as refusal:
            self.add_error(refusal.field if refusal.field in self.fields else None, str(refusal))
        return data

    def filters(self) -> DashboardFilters:
        return self._filters
