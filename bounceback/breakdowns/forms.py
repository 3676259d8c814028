"""Forms for the breakdown pages: each feeds one service in breakdowns/services.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.breakdowns.models import Breakdown, ReviewActionItem
from bounceback.cases.models import Severity
from bounceback.failuremodes.models import SCORE_VALIDATORS, Touchpoint
from bounceback.playbooks.models import Playbook
from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MAX_ATTRIBUTES = 20


def _textarea(rows: int = 4, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


def _datetime_local(*, required: bool, label: str, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


def scope_zone(site: Site | None) -> ZoneInfo:
    """The time zone the scope's clock times are read in: the site's, else the business's."""
    name = site.time_zone if site is not None and site.time_zone else settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _in_zone(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    # The form field read the wall-clock time in the request's time zone; the
    # person meant the site's clock, so keep the wall-clock time and swap the zone.
    if value is None:
        return None
    wall = timezone.make_naive(value, timezone.get_current_timezone())
    return timezone.make_aware(wall, zone)


class _PlaybookChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        mode = obj.failure_mode.title if obj.failure_mode_id else obj.breakdown_type
        version = f"v{obj.current.number}" if obj.current_id else ""
        return f"{obj.name} ({mode}, {version})" if mode else f"{obj.name} ({version})"


class _UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


def declarable_playbooks() -> QuerySet[Playbook]:
    return (
        Playbook.objects.filter(archived=False, current__isnull=False)
        .select_related("failure_mode", "current")
        .order_by("name")
    )


class ScopeForm(forms.Form):
    """Who is affected: every customer with a transaction matching all of these."""

    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="Any site",
    )
    window_start = _datetime_local(
        required=True,
        label="From",
        help_text="Transactions scheduled from this time, on the site's clock.",
    )
    window_end = _datetime_local(
        required=False, label="Until", help_text="Leave empty while it is still going on."
    )
    product = forms.CharField(max_length=200, required=False)
    kinds = forms.MultipleChoiceField(
        choices=Transaction.Kind.choices,
        required=False,
        label="Transaction kinds",
        widget=forms.CheckboxSelectMultiple,
    )
    statuses = forms.MultipleChoiceField(
        choices=Transaction.Status.choices,
        required=False,
        label="Transaction statuses",
        widget=forms.CheckboxSelectMultiple,
    )
    attributes = forms.CharField(
        required=False,
        label="Attributes",
        widget=_textarea(3, placeholder="depot=north"),
        help_text="One key=value per line; every one must match.",
    )

    def clean_attributes(self) -> dict[str, str]:
        text = self.cleaned_data.get("attributes") or ""
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(
                    f"Line {number} is not key=value: {line[:60]!r}.", code="invalid"
                )
            pairs[key.strip()] = value.strip()
        if len(pairs) > MAX_ATTRIBUTES:
            raise forms.ValidationError(f"At most {MAX_ATTRIBUTES} attributes.", code="invalid")
        return pairs

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        zone = scope_zone(data.get("site"))
        for name in ("window_start", "window_end"):
            if data.get(name) is not None:
                data[name] = _in_zone(data[name], zone)
        return data

    def transaction_filter(self) -> dict[str, Any]:
        data = self.cleaned_data
        found: dict[str, Any] = {}
        if data.get("kinds"):
            found["kind"] = list(data["kinds"])
        if data.get("statuses"):
            found["status"] = list(data["statuses"])
        if data.get("attributes"):
            found["attributes"] = dict(data["attributes"])
        return found

    def scope_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "site": data.get("site"),
            "window_start": data["window_start"],
            "window_end": data.get("window_end"),
            "product": data.get("product") or "",
            "transaction_filter": self.transaction_filter(),
        }

    @classmethod
    def initial_for(cls, breakdown: Breakdown) -> dict[str, Any]:
        zone = scope_zone(breakdown.site)
        found = breakdown.transaction_filter or {}

        def local(value: datetime | None) -> str:
            return value.astimezone(zone).strftime(DATETIME_LOCAL) if value else ""

        return {
            "site": breakdown.site.code if breakdown.site else None,
            "window_start": local(breakdown.window_start),
            "window_end": local(breakdown.window_end),
            "product": breakdown.product,
            "kinds": found.get("kind") or [],
            "statuses": found.get("status") or [],
            "attributes": "\n".join(f"{k}={v}" for k, v in (found.get("attributes") or {}).items()),
        }


class DeclareForm(ScopeForm):
    playbook = _PlaybookChoiceField(
        queryset=declarable_playbooks(), empty_label="Choose the playbook"
    )
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.HIGH)
    description = forms.CharField(
        required=False, widget=_textarea(3), help_text="What happened, for staff."
    )

    field_order = [
        "playbook",
        "title",
        "severity",
        "site",
        "window_start",
        "window_end",
        "product",
        "kinds",
        "statuses",
        "attributes",
        "description",
    ]


class CustomerChoiceForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why it is a false alarm", widget=_textarea(2))


class EmptyForm(forms.Form):
    pass


class ActionDoneForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, label="Note")


class MessageForm(forms.Form):
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(max_length=20_000, widget=_textarea(6), label="Message")


class ReviewForm(forms.Form):
    went_well = forms.CharField(required=False, widget=_textarea(4), label="What went well")
    went_badly = forms.CharField(required=False, widget=_textarea(4), label="What did not")
    actual_cost = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Actual cost"
    )
    cost_currency = forms.CharField(max_length=3, min_length=3, required=False, label="Currency")

    def clean_cost_currency(self) -> str | None:
        value = (self.cleaned_data.get("cost_currency") or "").strip().upper()
        return value or None


class DocumentCasesForm(forms.Form):
    """The review's root cause, written once for every case of the breakdown."""

    root_cause = forms.CharField(widget=_textarea(2), label="Root cause")
    what_was_done = forms.CharField(widget=_textarea(2), label="What was done")
    prevention_idea = forms.CharField(widget=_textarea(2), label="How to prevent it")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "doc_%s")
        super().__init__(*args, **kwargs)


class FollowUpCasesForm(forms.Form):
    body = forms.CharField(
        max_length=20_000,
        widget=_textarea(4),
        label="Follow-up message",
        help_text="{{ customer.first_name }}, {{ customer.name }} and {{ case.reference }} are "
        "filled in for each customer; each gets their own survey link.",
    )
    early_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Follow up early, because…",
        help_text="Only needed for customers still cooling off.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "wave_%s")
        super().__init__(*args, **kwargs)


def action_item_owners() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class ActionItemForm(forms.Form):
    kind = forms.ChoiceField(choices=ReviewActionItem.Kind.choices, initial="other")
    text = forms.CharField(max_length=2000, widget=_textarea(2), label="Action")
    owner = _UserChoiceField(queryset=action_item_owners(), required=False, empty_label="Nobody")
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.order_by("name"),
        required=False,
        empty_label="No playbook",
        help_text="For a playbook change: the playbook to change.",
    )


class ItemDoneForm(forms.Form):
    done = forms.BooleanField(required=False)


class ToFailureModeForm(forms.Form):
    touchpoint = forms.ModelChoiceField(
        queryset=Touchpoint.objects.select_related("site").order_by("position", "name")
    )
    title = forms.CharField(max_length=160)
    severity = forms.IntegerField(validators=SCORE_VALIDATORS, min_value=1, max_value=10)
    occurrence = forms.IntegerField(validators=SCORE_VALIDATORS, min_value=1, max_value=10)
    detection = forms.IntegerField(validators=SCORE_VALIDATORS, min_value=1, max_value=10)
    description = forms.CharField(required=False, widget=_textarea(2))
