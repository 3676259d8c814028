"""Forms of the public pages. They check shape and give field messages; the
services check the rules again, so every way in is held to the same ones."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from bounceback.portal.services import CONTACT_CHOICES, WILL_RETURN_CHOICES
from bounceback.sites.models import Site

ELSEWHERE = "elsewhere"
# The honeypot's name: plausible enough that form-filling bots complete it.
HONEYPOT = "website"


class ReportForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=200,
        error_messages={"required": "Tell us your name."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Your email",
        max_length=254,
        error_messages={
            "required": "We need your email to reply to you.",
            "invalid": "Enter an email address like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Your phone number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    what_happened = forms.CharField(
        label="What happened?",
        max_length=5000,
        error_messages={"required": "Tell us what went wrong."},
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    happened_at = forms.DateTimeField(
        label="When did it happen?",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        error_messages={"invalid": "Enter a date and time, such as 2024-05-31 18:30."},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    where = forms.ChoiceField(label="Where did it happen?", required=False)
    where_else = forms.CharField(
        label="Somewhere else: where?",
        max_length=200,
        required=False,
    )
    wanted = forms.CharField(
        label="What would you like us to do?",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_by = forms.ChoiceField(
        label="How should we contact you?",
        choices=CONTACT_CHOICES,
        initial="email",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how we should contact you."},
    )
    website = forms.CharField(
        label="Website",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sites = {site.code: site for site in Site.objects.only("id", "code", "name")}
        where: forms.ChoiceField = self.fields["where"]  # type: ignore[assignment]
        where.choices = [
            ("", "Choose a place"),
            *((code, site.name) for code, site in self.sites.items()),
            (ELSEWHERE, "Somewhere else"),
        ]

    def clean_happened_at(self) -> Any:
        value = self.cleaned_data.get("happened_at")
        if value is not None and value > timezone.now():
            raise forms.ValidationError("That time is in the future.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("where") == ELSEWHERE and not (data.get("where_else") or "").strip():
            self.add_error("where_else", "Tell us where it happened.")
        if data.get("contact_by") in ("phone", "sms") and not (data.get("phone") or "").strip():
            self.add_error("phone", "Give a phone number so we can call or text you.")
        return data

    @property
    def site(self) -> Site | None:
        return self.sites.get(self.cleaned_data.get("where") or "")


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email",
        max_length=254,
        error_messages={
            "required": "Enter the email address you gave us.",
            "invalid": "Enter an email address like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your message",
        max_length=10_000,
        error_messages={"required": "Write your message first."},
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label="How happy are you with how we handled it?",
        choices=[(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text="1 is very unhappy, 5 is very happy.",
        error_messages={"required": "Choose a score from 1 to 5."},
    )
    will_return = forms.ChoiceField(
        label="Will you do business with us again?",
        choices=WILL_RETURN_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose yes, no or not sure."},
    )
    comment = forms.CharField(
        label="What could we have done better?",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
