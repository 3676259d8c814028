"""The playbook editor: details, the version's text fields, and a formset per repeatable row.

Forms only shape input; the service validates. A blank extra row is skipped;
a row marked for deletion is left out of the new version.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from bounceback.accounts.roles import Role
from bounceback.customers.models import Channel
from bounceback.errors import ServiceError
from bounceback.failuremodes.models import FailureMode
from bounceback.playbooks.models import CompensationKind, TemplatePurpose
from bounceback.playbooks.services import (
    ActionInput,
    CompensationInput,
    ContactInput,
    PlaybookContent,
    TemplateInput,
)


class DetailsForm(forms.Form):
    name = forms.CharField(max_length=160)
    failure_mode = forms.ModelChoiceField(
        queryset=FailureMode.objects.exclude(
            status__in=[FailureMode.Status.REJECTED, FailureMode.Status.RETIRED]
        ).select_related("touchpoint"),
        required=False,
        help_text="The failure this playbook answers.",
    )
    breakdown_type = forms.CharField(
        max_length=120,
        required=False,
        help_text="Or a kind of breakdown, e.g. 'power outage'. Give at least one of the two.",
    )


class VersionForm(forms.Form):
    applies_when = forms.CharField(
        label="When it applies", widget=forms.Textarea(attrs={"rows": 3})
    )
    backup_resources = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    change_note = forms.CharField(
        max_length=300, required=False, help_text="What changed and why, for the version history."
    )
    coach_override_reason = forms.CharField(
        label="Save despite the coach because",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only needed when the apology coach scores the first message below the bar.",
    )


class ActionForm(forms.Form):
    title = forms.CharField(max_length=200)
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    owner_role = forms.ChoiceField(choices=Role.choices, initial=Role.LEAD)
    target_minutes = forms.IntegerField(label="Minutes", min_value=1)


class TemplateForm(forms.Form):
    purpose = forms.ChoiceField(choices=TemplatePurpose.choices)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    language = forms.CharField(max_length=20, initial="en")
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))


class CompensationForm(forms.Form):
    segment = forms.CharField(max_length=60, initial="all")
    kind = forms.ChoiceField(choices=CompensationKind.choices)
    amount = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2)
    currency = forms.CharField(max_length=3, initial=settings.BOUNCEBACK_CURRENCY)
    description = forms.CharField(max_length=200, required=False)


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    role = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=60, required=False)
    email = forms.CharField(max_length=254, required=False)


class RowsFormSet(forms.BaseFormSet):
    """Rows of a version: the `existing` first rows are kept unless deleted; the rest
    (suggested or blank) only when someone filled them in."""

    def __init__(self, *args: Any, existing: int = 0, blank: int = 1, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.existing = existing
        if not self.is_bound:
            self.extra = max(len(self.initial or []) - existing, 0) + blank

    def initial_form_count(self) -> int:
        if self.is_bound:
            return super().initial_form_count()
        return self.existing

    def kept_forms(self) -> list[forms.Form]:
        initial = self.initial_form_count()
        return [
            form
            for i, form in enumerate(self.forms)
            if (i < initial or form.has_changed()) and not form.cleaned_data.get("DELETE")
        ]


def _formset(form: type[forms.Form], extra: int) -> Any:
    return forms.formset_factory(form, formset=RowsFormSet, extra=extra, can_delete=True)


ActionFormSet = _formset(ActionForm, 1)
TemplateFormSet = _formset(TemplateForm, 0)
CompensationFormSet = _formset(CompensationForm, 1)
ContactFormSet = _formset(ContactForm, 1)

# Service field name -> (formset prefix). Content lists are the kept rows only,
# so the editor maps a service index back to the form it came from.
PREFIXES = {
    "actions": "actions",
    "templates": "templates",
    "compensations": "compensations",
    "escalation_contacts": "contacts",
}
_ROW_INPUTS: dict[str, type] = {
    "actions": ActionInput,
    "templates": TemplateInput,
    "compensations": CompensationInput,
    "escalation_contacts": ContactInput,
}


class Editor:
    """The version form and the four formsets, bound together as one content input."""

    def __init__(self, data: Any = None, initial: PlaybookContent | None = None):
        def rows(name: str) -> dict[str, Any]:
            if initial is None:
                return {"initial": None, "existing": 0}
            found = [vars(row) for row in getattr(initial, name)]
            return {"initial": found, "existing": len(found)}

        version_initial = None
        if initial is not None:
            version_initial = {
                "applies_when": initial.applies_when,
                "backup_resources": initial.backup_resources,
            }
        self.version = VersionForm(data, initial=version_initial)
        self.formsets: dict[str, Any] = {
            "actions": ActionFormSet(data, prefix="actions", **rows("actions")),
            "templates": TemplateFormSet(
                data,
                prefix="templates",
                blank=0,
                **(
                    rows("templates")
                    if initial is not None
                    else {"initial": default_templates(), "existing": 0}
                ),
            ),
            "compensations": CompensationFormSet(
                data, prefix="compensations", **rows("compensations")
            ),
            "escalation_contacts": ContactFormSet(
                data, prefix="contacts", **rows("escalation_contacts")
            ),
        }
        # service list name -> the forms kept, in the order they became content rows
        self.kept: dict[str, list[forms.Form]] = {}

    def is_valid(self) -> bool:
        valid = self.version.is_valid()
        for formset in self.formsets.values():
            valid = formset.is_valid() and valid
        return valid

    def content(self) -> PlaybookContent:
        lists: dict[str, list[Any]] = {}
        for name, formset in self.formsets.items():
            kept = formset.kept_forms()
            self.kept[name] = kept
            lists[name] = [
                _ROW_INPUTS[name](**{k: v for k, v in f.cleaned_data.items() if k != "DELETE"})
                for f in kept
            ]
        data = self.version.cleaned_data
        return PlaybookContent(
            applies_when=data["applies_when"],
            backup_resources=data["backup_resources"],
            change_note=data["change_note"],
            coach_override_reason=data["coach_override_reason"],
            actions=lists["actions"],
            templates=lists["templates"],
            compensations=lists["compensations"],
            escalation_contacts=lists["escalation_contacts"],
        )

    def add_service_error(self, error: ServiceError) -> None:
        """Put the service's refusal on the row and field it names ("templates[1].body")."""
        path = error.field or ""
        head, _, rest = path.partition("[")
        if head in self.formsets and rest:
            index_text, _, tail = rest.partition("]")
            field = tail.lstrip(".")
            kept = self.kept.get(head, [])
            if index_text.isdigit() and int(index_text) < len(kept):
                form = kept[int(index_text)]
                form.add_error(field if field in form.fields else None, error.message)
                return
        if head in self.version.fields:
            self.version.add_error(head, error.message)
            return
        self.version.add_error(None, error.message)


def default_templates() -> list[dict[str, Any]]:
    """A new playbook starts with one empty email template per purpose, in the order they go out."""
    return [
        {"purpose": purpose, "channel": Channel.EMAIL, "language": "en"}
        for purpose in TemplatePurpose.values
    ]
