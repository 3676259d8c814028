from __future__ import annotations

import json
from typing import Any

from django import forms

from bounceback.accounts.models import Team
from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity
from bounceback.discovery.models import Rule
from bounceback.failuremodes.models import FailureMode
from bounceback.playbooks.models import Playbook

LOOKS_AT = [
    ("on_signals", "Signals as they come in (surveys, reviews, mentions, operational events)"),
    ("on_cases", "New cases as they are opened"),
    ("on_messages", "Customers' messages as they arrive"),
]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    looks_at = forms.MultipleChoiceField(
        label="Runs on",
        choices=LOOKS_AT,
        initial=["on_signals"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose what the rule looks at."},
    )
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        initial='{"all": [{"field": "nps", "op": "<=", "value": 6}]}',
        help_text='JSON: {"all": [...]} or {"any": [...]} of {"field", "op", "value"}. Fields: '
        "input (signal, case, message), kind, event, source, channel, category, product, site, "
        "site_mentioned, severity, csat, nps, rating, negativity (0 to 1), text, "
        "attributes.NAME, segment, lifetime_value, transaction.status...",
    )
    action = forms.ChoiceField(
        choices=Rule.Action.choices,
        help_text="On a new case or a message on one, “open a case” raises that case's "
        "severity and routes it instead. A proactive contact is for signals.",
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.NORMAL)
    failure_mode = forms.ModelChoiceField(
        queryset=FailureMode.objects.none(), required=False, empty_label="-"
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="-")
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.none(),
        required=False,
        empty_label="-",
        help_text="For a proactive contact: its first message is what the customer is sent",
    )
    role = forms.ChoiceField(
        choices=[("", "-"), *Role.choices], required=False, help_text="For alert a role"
    )
    window_hours = forms.IntegerField(
        min_value=1,
        max_value=8760,
        initial=72,
        help_text="At most one action per customer from this rule in this many hours",
    )
    position = forms.IntegerField(
        min_value=0, required=False, help_text="Rules run in this order (lowest first)"
    )

    def __init__(self, *args: Any, rule: Rule | None = None, **kwargs: Any) -> None:
        if rule is not None and not kwargs.get("initial"):
            kwargs["initial"] = self.initial_for(rule)
        super().__init__(*args, **kwargs)
        self.fields["failure_mode"].queryset = FailureMode.objects.order_by("title")  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["playbook"].queryset = Playbook.objects.filter(archived=False).order_by(  # type: ignore[attr-defined]
            "name"
        )

    @staticmethod
    def initial_for(rule: Rule) -> dict[str, Any]:
        params = rule.action_params or {}
        return {
            "name": rule.name,
            "looks_at": [name for name, _ in LOOKS_AT if getattr(rule, name)],
            "conditions": json.dumps(rule.conditions),
            "action": rule.action,
            "severity": params.get("severity", Severity.NORMAL),
            "failure_mode": params.get("failure_mode_id"),
            "team": params.get("team_id"),
            "playbook": params.get("playbook_id"),
            "role": params.get("role", ""),
            "window_hours": rule.window_hours,
            "position": rule.position,
        }

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
        for key, name in (
            ("failure_mode_id", "failure_mode"),
            ("team_id", "team"),
            ("playbook_id", "playbook"),
        ):
            if data.get(name) is not None:
                params[key] = data[name].pk
        looks_at = set(data["looks_at"])
        values: dict[str, Any] = {
            "name": data["name"],
            "conditions": data["conditions"],
            "action": data["action"],
            "action_params": params,
            "window_hours": data["window_hours"],
            **{name: name in looks_at for name, _ in LOOKS_AT},
        }
        if data.get("position") is not None:
            values["position"] = data["position"]
        return values

    def preview_values(self) -> dict[str, Any]:
        values = self.service_values()
        return {k: v for k, v in values.items() if k not in ("name", "position")}
