from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.accounts.selectors import login_retry_after
from bounceback.accounts.services import login_is_throttled


class LoginForm(AuthenticationForm):
    """The stock sign-in form, saying plainly when sign-in is throttled.

    The backend already refuses throttled sign-ins, but only as "invalid
    credentials"; a person locked out deserves to know why and for how long.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password don't match. Check both and try again.",
        "throttled": "Too many failed sign-ins; try again in %(wait)s.",
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        # True when this attempt was refused only because of earlier failures.
        self.refused_by_throttle = False
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip()
        was_throttled = bool(username) and login_is_throttled(
            username=username, request=self.request
        )
        try:
            return super().clean()
        except ValidationError:
            # This failure may itself have reached the limit, so look again.
            if username and (
                was_throttled or login_is_throttled(username=username, request=self.request)
            ):
                self.refused_by_throttle = was_throttled
                raise self._throttled_error(username) from None
            raise

    def _throttled_error(self, username: str) -> ValidationError:
        wait = login_retry_after(username=username, request=self.request)
        seconds = math.ceil(wait.total_seconds())
        minutes = max(1, math.ceil(seconds / 60))
        if seconds < 60:
            label = "1 second" if seconds <= 1 else f"{seconds} seconds"
        else:
            label = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return ValidationError(
            self.error_messages["throttled"], code="throttled", params={"wait": label}
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label="Role")

    def __init__(self, *args: Any, actor: User, target: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.target = target

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.actor.pk == self.target.pk and cleaned.get("role") != self.target.role:
            # An administrator demoting themselves could leave nobody able to undo it.
            raise ValidationError("You can't change your own role; ask another administrator.")
        return cleaned


def _zone_choices() -> list[tuple[str, str]]:
    from zoneinfo import available_timezones

    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False,
        label="Show times in",
        help_text="Every page shows dates and times on this clock.",
    )

    def __init__(self, *args: Any, following: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["time_zone"]
        field.choices = [
            ("", f"My site's, else the business's ({following})"),
            *_zone_choices(),
        ]
