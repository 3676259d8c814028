"""Forms for the recovery-fund pages: each feeds one service in funds/services.py.

The forms only check shapes (a number, a choice); the money rules (limits,
budgets, who may decide) live in the services, whose refusals come back on
the field they name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.funds.models import Grant, Period


def _money(
    label: str,
    *,
    required: bool = True,
    minimum: str = "0",
    help_text: str = "",
    noun: str = "",
) -> forms.DecimalField:
    # Our own words for every way an amount can be wrong, not the framework's
    # ("Ensure that there are no more than 2 decimal places.").
    what = noun or label.lower()
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(minimum),
        max_digits=12,
        decimal_places=2,
        help_text=help_text,
        error_messages={
            "required": f"Give the {what}.",
            "invalid": "Enter an amount, such as 25 or 25.50.",
            "min_value": f"The {what} must be at least {minimum}.",
            "max_digits": f"The {what} is too large.",
            "max_whole_digits": f"The {what} is too large.",
            "max_decimal_places": "Use at most two decimal places, such as 25.50.",
        },
    )


def _textarea(rows: int = 3, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class GrantForm(forms.Form):
    """The case page's "Make it right": a gesture for this customer, now or after approval."""

    kind = forms.ChoiceField(
        label="Gesture",
        choices=Grant.Kind.choices,
        error_messages={
            "required": "Choose the gesture.",
            "invalid_choice": "Choose a gesture from the list.",
        },
    )
    value = _money(
        "Value",
        minimum="0.01",
        help_text="For a gift, an upgrade or a waived fee, what it is worth to the customer.",
    )
    estimated = forms.BooleanField(
        label="The value is an estimate (not money paid back)", required=False
    )
    reason = forms.CharField(
        label="Why",
        widget=_textarea(2),
        max_length=2000,
        error_messages={
            "required": "Say why you grant it: the approver and the ledger read it.",
            "max_length": "Keep the reason under 2,000 characters.",
        },
    )
    customer_proposed = forms.BooleanField(label="The customer asked for this", required=False)
    message = forms.CharField(
        label="Message to the customer",
        required=False,
        widget=_textarea(3),
        max_length=5000,
        help_text="Sent on the case's reply channel once the gesture is granted. "
        "A voucher's code is added to it.",
    )
    exception_to_policy = forms.BooleanField(label="An exception to policy", required=False)
    policy_bent = forms.CharField(label="Which rule it bends", required=False, max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("exception_to_policy") and not (data.get("policy_bent") or "").strip():
            self.add_error("policy_bent", "Say which rule this exception bends.")
        return data


class DecisionForm(forms.Form):
    """An approver's answer: approve as asked, reduce to a smaller value, or refuse."""

    DECISIONS = [("approve", "Approve"), ("reduce", "Reduce"), ("refuse", "Refuse")]

    decision = forms.ChoiceField(
        choices=DECISIONS,
        error_messages={
            "required": "Choose approve, reduce or refuse.",
            "invalid_choice": "Choose approve, reduce or refuse.",
        },
    )
    value = _money("Reduced value", required=False, minimum="0.01")
    reason = forms.CharField(label="Reason", required=False, max_length=2000)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision = data.get("decision")
        if decision == "reduce" and data.get("value") is None:
            self.add_error("value", "Give the value you approve instead.")
        if decision in ("reduce", "refuse") and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why, so the person who asked can explain it.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=2000)


class PolicyForm(forms.Form):
    """One role's allowance."""

    per_case_limit = _money("Per case", noun="per-case limit")
    period = forms.ChoiceField(label="Period", choices=Period.choices)
    period_budget = _money("Budget")


class OverrideForm(forms.Form):
    """One person's allowance where it differs from their role's; blank keeps the role's."""

    user = forms.ModelChoiceField(label="Person", queryset=User.objects.none())
    per_case_limit = _money("Per case", required=False, noun="per-case limit")
    period = forms.ChoiceField(
        label="Period",
        required=False,
        choices=[("", "Their role's"), *Period.choices],
    )
    period_budget = _money("Budget", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff()  # type: ignore[attr-defined]


class LedgerFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        label="Person", required=False, queryset=User.objects.none(), empty_label="Everyone"
    )
    kind = forms.ChoiceField(label="Entry", required=False)

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff()  # type: ignore[attr-defined]
        self.fields["kind"].choices = [("", "Every kind"), *kinds]  # type: ignore[attr-defined]


def staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=[r.value for r in Role]).order_by(
        "first_name", "last_name", "username"
    )
