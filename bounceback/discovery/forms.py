from __future__ import annotations

import json
from typing import Any

from django import forms

from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity
from bounceback.discovery.models import Rule


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        initial='{"all": [{"field": "nps", "op": "<=", "value": 6}]}',
        help_text='JSON: {"all": [...]} or {"any": [...]} of {"field", "op", "value"}. Fields: '
        "kind, event, source, channel, category, product, site, csat, nps, rating, negativity, "
        "text, attributes.NAME, segment, lifetime_value, transaction.status...",
    )
    action = forms.ChoiceField(choices=Rule.Action.choices)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.NORMAL)
    role = forms.ChoiceField(
        choices=[("", "-"), *Role.choices], required=False, help_text="For alert a role"
    )
    window_hours = forms.IntegerField(min_value=1, max_value=8760, initial=72)

    def clean_conditions(self) -> Any:
        try:
            return json.loads(self.cleaned_data["conditions"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc.msg}") from None

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        params: dict[str, Any] = {"severity": data["severity"]}
        if data.get("role"):
            params["role"] = data["role"]
        return {
            "name": data["name"],
            "conditions": data["conditions"],
            "action": data["action"],
            "action_params": params,
            "window_hours": data["window_hours"],
        }
