"""Forms for the case pages: each step's form feeds one service in cases/services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from bounceback.accounts.models import User
from bounceback.cases.inbox import SORTS, InboxQuery
from bounceback.cases.models import Case, RecoveryPolicy, Severity
from bounceback.cases.selectors import message_channels
from bounceback.customers.models import Channel, Customer
from bounceback.failuremodes.models import FailureMode
from bounceback.failuremodes.selectors import accepted_choices
from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction
from bounceback.web.templatetags.bounceback_ui import money


def _textarea(rows: int = 4, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


def _user_label(obj: Any) -> str:
    team = f" ({obj.team})" if obj.team_id else ""
    return f"{obj.display_name}{team}"


class _UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _user_label(obj)


def assignable_users() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True)
        .select_related("team")
        .order_by("first_name", "last_name", "username")
    )


# --- The inbox --------------------------------------------------------------------------


class InboxForm(forms.Form):
    """The inbox's filters and order, drawn from an `InboxQuery` (cases/inbox.py).

    Only renders: the query string is read by `InboxQuery.from_params`, which
    keeps every value as text a shared address can carry (a site's code, a
    segment's slug, a breakdown's reference).
    """

    view = forms.CharField(required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *[c for c in Case.Status.choices if c[0] != "closed"]],
        required=False,
    )
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    site = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False, label="Segment")
    breakdown = forms.ChoiceField(required=False)
    channel = forms.ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    failure_mode = forms.ChoiceField(required=False, label="Failure mode")
    sort = forms.ChoiceField(required=False, label="Order")

    def __init__(self, query: InboxQuery) -> None:
        from bounceback.breakdowns.models import Breakdown
        from bounceback.segments.models import Segment

        super().__init__(initial=query.to_params() | {"view": query.view, "sort": query.sort})
        f: dict[str, Any] = self.fields  # every one a ChoiceField
        f["site"].choices = [
            ("", "All sites"),
            *Site.objects.order_by("name").values_list("code", "name"),
        ]
        f["assignee"].choices = [
            ("", "Anyone"),
            ("none", "Nobody"),
            *[(str(u.pk), _user_label(u)) for u in assignable_users()],
        ]
        # Segments in priority order: the VIPs' segment leads the list.
        f["segment"].choices = [
            ("", "Any segment"),
            *Segment.objects.active().in_priority_order().values_list("slug", "name"),
        ]
        f["breakdown"].choices = [
            ("", "Any breakdown"),
            *[
                (ref, f"{ref}: {title}")
                for ref, title in Breakdown.objects.exclude(reference=None)
                .order_by("-id")
                .values_list("reference", "title")[:50]
            ],
        ]
        f["failure_mode"].choices = [
            ("", "Any failure mode"),
            *[(label, [(str(pk), t) for pk, t in modes]) for label, modes in accepted_choices()],
        ]
        f["sort"].choices = [(name, label) for name, (label, _order) in SORTS.items()]


# --- Opening a case -------------------------------------------------------------------------


class _TransactionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        what = obj.product or obj.get_kind_display()
        ref = f" · {obj.external_id}" if obj.external_id else ""
        return (
            f"{what} · {obj.occurred_at:%d %b %Y} · {money(obj.amount, obj.currency)}"
            f"{ref} ({obj.get_status_display().lower()})"
        )


class CaseOpenForm(forms.Form):
    """A new case for one customer: what went wrong, in their words, and who handles it."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), widget=forms.HiddenInput)
    summary = forms.CharField(
        max_length=200,
        help_text="One line: what went wrong, e.g. “Show stopped by a power cut”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        required=False,
        label="In the customer's words",
        widget=_textarea(5),
        help_text="What they told you, as they said it.",
    )
    channel = forms.ChoiceField(
        choices=Channel.choices, label="Reached us by", help_text="Replies go out on it too."
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.NORMAL)
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="No particular site",
    )
    transaction = _TransactionChoiceField(
        queryset=Transaction.objects.none(),
        required=False,
        label="Related transaction",
        empty_label="None",
    )
    assignee = _UserChoiceField(queryset=assignable_users(), empty_label="Nobody yet")

    def __init__(self, *args: Any, customer: Customer | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["failure_mode"] = FailureModeField()
        self.order_fields(["customer", "summary", "description", "failure_mode"])
        self.fields["assignee"].required = False
        if customer is not None:
            # Their 50 most recent: a choice list, not a search.
            recent = Transaction.objects.filter(customer=customer).order_by("-occurred_at", "-id")
            field = self.fields["transaction"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Transaction.objects.filter(
                pk__in=list(recent.values_list("pk", flat=True)[:50])
            ).order_by("-occurred_at", "-id")

    def clean_transaction(self) -> Transaction | None:
        # The choices are the chosen customer's; a stale page may post another's.
        row = self.cleaned_data.get("transaction")
        customer = self.cleaned_data.get("customer")
        if row is not None and customer is not None and row.customer_id != customer.pk:
            raise forms.ValidationError("That transaction belongs to another customer.")
        return row


# --- The failure-mode link ------------------------------------------------------------------


class FailureModeField(forms.TypedChoiceField):
    """Accepted failure modes grouped by touchpoint; cleans to the FailureMode (or None)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Failure mode")
        kwargs.setdefault(
            "help_text",
            "What went wrong, from the catalog: it keeps the catalog's estimates honest.",
        )
        super().__init__(coerce=self._mode, empty_value=None, **kwargs)
        # Built per form (one query): accepted modes come and go.
        self.choices = [("", "Not set"), *accepted_choices()]

    @staticmethod
    def _mode(value: Any) -> FailureMode:
        mode = FailureMode.objects.filter(pk=int(value)).first()
        if mode is None:
            raise forms.ValidationError("That failure mode no longer exists.")
        return mode


class FailureModeForm(forms.Form):
    """Set or change the case's failure mode from the case page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "link_%s")
        super().__init__(*args, **kwargs)
        self.fields["failure_mode"] = FailureModeField(help_text="")


# --- The recovery steps ------------------------------------------------------------------------


class _MessageForm(forms.Form):
    """A message to the customer: the channels offered are those we can answer on now.

    A page showing several of these passes `usable` (`usable_channels()`) so
    the channels are checked once, not once per form.
    """

    channel = forms.ChoiceField(choices=(), label="Send by")

    def __init__(self, *args: Any, usable: frozenset[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = message_channels(usable)  # type: ignore[attr-defined]


class ApologyForm(_MessageForm):
    body = forms.CharField(
        label="Your apology",
        widget=_textarea(7, spellcheck="true"),
        error_messages={"required": "Write the apology first."},
    )
    override_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Why send it below the coach's threshold?",
        widget=_textarea(2),
        help_text="Recorded on the case with the apology.",
    )


class UpdateForm(_MessageForm):
    body = forms.CharField(
        label="Progress update",
        widget=_textarea(4),
        error_messages={"required": "Write the update first."},
        help_text="What is happening now and when they will hear from you next.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Several message forms share a page: their fields need ids of their own.
        kwargs.setdefault("auto_id", "update_%s")
        super().__init__(*args, **kwargs)


DECISIONS = [("", "Not decided yet"), ("accept", "We accept it"), ("decline", "We decline it")]


class ReviewForm(forms.Form):
    what_went_wrong = forms.CharField(
        label="What went wrong, in their view", widget=_textarea(3), required=False
    )
    impact = forms.CharField(label="What it cost them", widget=_textarea(2), required=False)
    proposed_fix = forms.CharField(
        label="What they propose as a fix", widget=_textarea(2), required=False
    )
    decision = forms.ChoiceField(
        choices=DECISIONS,
        required=False,
        label="Their proposal",
        widget=forms.RadioSelect,
    )
    proposal_response = forms.CharField(
        label="What we told them about it", widget=_textarea(2), required=False
    )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        decision = data.get("decision") or ""
        return {
            "what_went_wrong": data["what_went_wrong"],
            "impact": data["impact"],
            "proposed_fix": data["proposed_fix"],
            "proposal_response": data["proposal_response"],
            "proposal_accepted": {"accept": True, "decline": False}.get(decision),
        }

    @classmethod
    def initial_for(cls, case: Case) -> dict[str, Any]:
        decision = {True: "accept", False: "decline"}.get(case.proposal_accepted, "")  # type: ignore[arg-type]
        return {
            "what_went_wrong": case.what_went_wrong,
            "impact": case.impact,
            "proposed_fix": case.proposed_fix,
            "decision": decision,
            "proposal_response": case.proposal_response,
        }


class FixForm(_MessageForm):
    fix_summary = forms.CharField(
        label="What fixed it",
        widget=_textarea(2),
        error_messages={"required": "Say what was done to fix it."},
    )
    message = forms.CharField(
        required=False,
        label="Tell the customer",
        widget=_textarea(3),
        help_text="Leave empty if you told them another way.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Several message forms share a page: their fields need ids of their own.
        kwargs.setdefault("auto_id", "fix_%s")
        super().__init__(*args, **kwargs)


class FollowUpForm(_MessageForm):
    body = forms.CharField(
        label="Follow-up message",
        widget=_textarea(4),
        error_messages={"required": "Write the follow-up first."},
        help_text="Ask whether they walked away happy and whether they will come back.",
    )
    early_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Follow up early, because…",
        widget=_textarea(2),
        help_text="Needed before the cool-off ends.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Several message forms share a page: their fields need ids of their own.
        kwargs.setdefault("auto_id", "followup_%s")
        super().__init__(*args, **kwargs)


YES_NO = [("yes", "Yes"), ("no", "No")]
YES_NO_UNKNOWN = [("yes", "Yes"), ("no", "No"), ("", "Don't know")]


class OutcomeForm(forms.Form):
    satisfied = forms.ChoiceField(
        choices=YES_NO,
        widget=forms.RadioSelect,
        label="Did they walk away happy?",
        error_messages={"required": "Say whether the customer is satisfied."},
    )
    will_return = forms.ChoiceField(
        choices=YES_NO_UNKNOWN,
        widget=forms.RadioSelect,
        required=False,
        label="Will they come back?",
    )
    comment = forms.CharField(required=False, label="What they said", widget=_textarea(2))
    end_unhappy = forms.BooleanField(
        required=False,
        label="Nothing more can be done: end the recovery with this answer",
        help_text="Otherwise an unhappy answer reopens the recovery.",
    )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "satisfied": data["satisfied"] == "yes",
            "will_return": {"yes": True, "no": False}.get(data.get("will_return") or ""),
            "comment": data["comment"],
            "reopen_recovery": not data.get("end_unhappy"),
        }


class DocumentForm(forms.Form):
    root_cause = forms.CharField(
        label="Root cause",
        widget=_textarea(2),
        error_messages={"required": "Say why it happened."},
    )
    what_was_done = forms.CharField(
        label="What was done",
        widget=_textarea(2),
        error_messages={"required": "Say what was done for the customer."},
    )
    prevention_idea = forms.CharField(
        label="How to stop it happening again",
        widget=_textarea(2),
        error_messages={"required": "Give one idea to prevent a repeat."},
    )


class CallForm(forms.Form):
    """Log a phone call from the case page (its own id prefix, like CustomerMessageForm)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "call_%s")
        super().__init__(*args, **kwargs)

    direction = forms.ChoiceField(
        choices=[("inbound", "They called us"), ("outbound", "We called them")],
        widget=forms.RadioSelect,
        initial="inbound",
        label="Who called",
    )
    body = forms.CharField(
        label="What was said",
        widget=_textarea(4),
        error_messages={"required": "Write down what was said."},
    )
    minutes_long = forms.IntegerField(
        required=False, min_value=0, max_value=600, label="Minutes", help_text="Optional."
    )
    occurred_at = forms.DateTimeField(
        required=False,
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now.",
    )


class CustomerMessageForm(forms.Form):
    """Sits on the case page beside the step forms, so its ids get their own prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "said_%s")
        super().__init__(*args, **kwargs)

    channel = forms.ChoiceField(choices=Channel.choices, label="How they reached us")
    body = forms.CharField(
        label="What the customer said",
        widget=_textarea(4),
        error_messages={"required": "Write down what they said."},
        help_text="A waiting case resumes its timers.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=1000, widget=_textarea(2))


class ReopenForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        label="Why reopen it?",
        widget=_textarea(2),
        error_messages={"required": "Say why the case is reopened."},
    )


class _NameChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class AssignForm(forms.Form):
    assignee = _NameChoiceField(queryset=assignable_users(), required=False, empty_label="Nobody")


class NoteForm(forms.Form):
    """An internal note: staff only, never sent; @username tells a colleague."""

    body = forms.CharField(
        label="Internal note",
        max_length=5000,
        widget=_textarea(3, placeholder="Only staff see this. Type @username to tell a colleague."),
        help_text="Never sent to the customer, never shown in the portal.",
        error_messages={"required": "Write the note first."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class BulkForm(forms.Form):
    """One action on the cases ticked in the inbox (or a breakdown's cases)."""

    case = forms.TypedMultipleChoiceField(coerce=int, label="Cases", required=False)
    # Every case of the inbox view the form sits under (its query string in `view`),
    # however many pages it runs to.
    everything = forms.BooleanField(
        required=False, label="Every case in this view, not only the ticked ones"
    )
    view = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    action = forms.ChoiceField(label="Action", choices=())
    assignee = _UserChoiceField(
        queryset=assignable_users(), required=False, empty_label="Nobody", label="Assign to"
    )
    body = forms.CharField(
        required=False,
        label="Message",
        widget=_textarea(3),
        help_text="For a progress update or the follow-up; each case's own channel is used.",
    )
    early_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Follow up early, because…",
        help_text="Only needed for cases still cooling off.",
    )
    root_cause = forms.CharField(required=False, label="Root cause", widget=_textarea(2))
    what_was_done = forms.CharField(required=False, label="What was done", widget=_textarea(2))
    prevention_idea = forms.CharField(
        required=False, label="How to prevent it", widget=_textarea(2)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from bounceback.cases.services import BulkAction

        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        # Any id may be posted; the view checks each exists.
        self.fields["case"].valid_value = lambda value: True  # type: ignore[attr-defined]
        self.fields["action"].choices = list(BulkAction.LABELS.items())  # type: ignore[attr-defined]
        self.fields["failure_mode"] = FailureModeField(help_text="")
        self.order_fields(["case", "action", "assignee", "failure_mode"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("case") and not data.get("everything"):
            raise forms.ValidationError("Tick the cases to act on first.")
        return data


class EmptyForm(forms.Form):
    """For steps that take no input (close, resume): errors still need a home."""


class BreakdownLinkForm(forms.Form):
    """Link the case to a breakdown: those that hit this customer are offered first.

    `options` are the breakdowns a case can be linked to (breakdowns_for_case),
    each with `suggested`.
    """

    breakdown = forms.TypedChoiceField(
        coerce=int,
        label="Breakdown",
        error_messages={
            "required": "Choose the breakdown this complaint is about.",
            "invalid_choice": "That breakdown can no longer take cases; choose another.",
        },
    )

    def __init__(self, *args: Any, options: list[Any], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bd_%s")
        super().__init__(*args, **kwargs)

        def label(b: Any) -> str:
            return f"{b.reference} {b.title} ({b.get_status_display().lower()})"

        hit = [(b.pk, label(b)) for b in options if getattr(b, "suggested", False)]
        other = [(b.pk, label(b)) for b in options if not getattr(b, "suggested", False)]
        choices: list[Any] = [("", "Choose a breakdown…")]
        if hit:
            choices.append(("Hit this customer", hit))
        if other:
            choices.append(("Other breakdowns" if hit else "Active breakdowns", other))
        field = self.fields["breakdown"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


# --- The recovery policy ------------------------------------------------------------------------

POLICY_FIELDS = [
    "apologise_minutes",
    "fix_minutes",
    "update_minutes",
    "cool_off_hours",
    "follow_up_hours",
    "document_hours",
    "warn_percent",
    "apology_threshold",
]


class PolicyForm(forms.ModelForm):
    """One severity's targets; saved through policy_update, which checks the limits."""

    class Meta:
        model = RecoveryPolicy
        fields = POLICY_FIELDS
        labels = {
            "apologise_minutes": "Apologise within",
            "fix_minutes": "Fix or first update within",
            "update_minutes": "Then update every",
            "cool_off_hours": "Cool-off before the follow-up",
            "follow_up_hours": "Follow up within",
            "document_hours": "Document within",
            "warn_percent": "Warn after",
            "apology_threshold": "Apology coach threshold",
        }
        help_texts = {
            "apologise_minutes": "minutes after the case opens",
            "fix_minutes": "minutes after the apology",
            "update_minutes": "minutes until fixed",
            "cool_off_hours": "hours after the fix",
            "follow_up_hours": "hours after the cool-off",
            "document_hours": "hours after the fix",
            "warn_percent": "percent of the time used",
            "apology_threshold": "score out of 100",
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("inputmode", "numeric")

    def changes(self) -> dict[str, int]:
        """Only the settings that differ from what is stored."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.fields}
