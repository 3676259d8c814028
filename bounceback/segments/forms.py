"""The segment editor: approach fields as a form, rules as rows (or JSON, the advanced mode)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import QueryDict

from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity
from bounceback.segments.rules import FIELD_LABELS, FIELDS, MAX_RULES

RULE_ROWS = 6
OPS = sorted({op for ops in FIELDS.values() for op in ops})


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.CharField(
        max_length=60,
        required=False,
        help_text="Playbooks name segments by slug (\u201cvip\u201d). Blank: made from the name.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    priority = forms.IntegerField(
        min_value=0, max_value=10_000, initial=100, help_text="Lower comes first and leads."
    )
    active = forms.BooleanField(required=False, initial=True)
    minimum_severity = forms.ChoiceField(
        choices=[("", "No floor"), *Severity.choices], required=False, label="Severity floor"
    )
    timer_percent = forms.IntegerField(
        min_value=10,
        max_value=100,
        initial=100,
        label="Timers (% of policy)",
        help_text="100 keeps the policy's times; 50 halves them.",
    )
    senior_handling = forms.ChoiceField(
        choices=[("", "No"), *Role.choices], required=False, label="Senior handling"
    )
    guidance = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Shown on every case of a customer in this segment.",
    )
    compensation_tier = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        label="Compensation tier per case",
        help_text="Lifts any staff member's per-case limit for these customers.",
    )
    rules_json = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        required=False,
        label="Rules as JSON (advanced)",
        help_text="When filled, replaces the rows above.",
    )

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("rules_json", None)
        return data


def rules_from_post(post: QueryDict) -> Any:
    """The rules the editor sent: the JSON box when filled, else the non-empty rows.

    Returned raw: the service validates them and names the rule at fault.
    """
    advanced = (post.get("rules_json") or "").strip()
    if advanced:
        return advanced
    rules = []
    try:
        rows = int(post.get("rule_rows") or RULE_ROWS)
    except ValueError:
        rows = RULE_ROWS
    # Bounded: the count comes from the browser. One row over the limit lets
    # the service say "at most N rules" rather than dropping rows silently.
    for index in range(max(1, min(rows, MAX_RULES + 1))):
        name = (post.get(f"rule-{index}-field") or "").strip()
        if not name:
            continue
        rule: dict[str, Any] = {
            "field": name,
            "op": (post.get(f"rule-{index}-op") or "").strip(),
            "value": (post.get(f"rule-{index}-value") or "").strip(),
        }
        months = (post.get(f"rule-{index}-months") or "").strip()
        if months:
            rule["months"] = months
        rules.append(rule)
    return rules


def rule_rows(rules: Any) -> list[dict[str, Any]]:
    """Rows for the editor: the given rules, padded with empty rows."""
    rows = (
        [dict(rule) for rule in rules if isinstance(rule, dict)] if isinstance(rules, list) else []
    )
    return rows + [{} for _ in range(max(RULE_ROWS - len(rows), 1))]


def rules_text(rules: Any) -> str:
    return rules if isinstance(rules, str) else json.dumps(rules, indent=1)


FIELD_CHOICES = list(FIELD_LABELS.items())
