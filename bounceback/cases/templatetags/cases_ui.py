"""Template helpers for the case pages: countdowns and durations.

The text rendered here is what a page shows before cases.js starts ticking
(and all it shows without JavaScript); `duration` formats like the script does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

from bounceback.cases.stepper import TIMER_LABELS

register = template.Library()

# Under this share of its time left, a countdown turns amber.
WARN_SHARE = 0.25


@register.filter
def duration(seconds: Any) -> str:
    """90061 -> "1d 1h"; 3720 -> "1h 02m"; 125 -> "2m 05s"; 42 -> "42s"."""
    try:
        total = abs(int(seconds))
    except (TypeError, ValueError):
        return ""
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _minutes_left(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    return duration(minutes * 60)


@register.filter
def timer_label(kind: str) -> str:
    return TIMER_LABELS.get(kind, kind.replace("_", " ").capitalize())


@register.simple_tag
def countdown(
    *,
    due: datetime | None,
    started: datetime | None = None,
    seconds_left: int | None = None,
    paused: bool = False,
    now: datetime | None = None,
) -> str:
    """A live countdown to `due`: cases.js ticks every `[data-due]` once a second.

    A paused timer does not tick: it says how much time it keeps for later.
    """
    if paused:
        left = _minutes_left(seconds_left or 0)
        return format_html('<span class="countdown countdown--paused">paused, {} left</span>', left)
    if due is None:
        return ""
    now = now or timezone.now()
    left_s = int((due - now).total_seconds())
    span = int((due - started).total_seconds()) if started else 0
    if left_s < 0:
        state, text = "over", f"overdue by {duration(left_s)}"
    else:
        state = "warn" if span > 0 and left_s < span * WARN_SHARE else "ok"
        text = f"due in {duration(left_s)}"
    return format_html(
        '<time class="countdown countdown--{}" datetime="{}" title="Due {}" data-due="{}"{}>'
        "{}</time>",
        state,
        due.isoformat(),
        f"{timezone.localtime(due):%d %b, %H:%M}",
        due.isoformat(),
        format_html(' data-start="{}"', started.isoformat()) if started else "",
        text,
    )


_FIELD_LABELS = {
    "what_went_wrong": "What went wrong",
    "impact": "Impact",
    "proposed_fix": "They propose",
    "proposal_accepted": "Their proposal",
    "proposal_response": "We told them",
    "root_cause": "Root cause",
    "what_was_done": "What was done",
    "prevention_idea": "Prevention",
    "summary": "Summary",
    "description": "Description",
    "failure_mode": "Failure mode",
    "severity": "Severity",
    "site": "Site",
}


@register.filter
def changes(data: Any) -> list[tuple[str, str]]:
    """What an event changed, as (label, new value), from its {"field": [before, after]} data."""
    if not isinstance(data, dict):
        return []
    rows = []
    for name, label in _FIELD_LABELS.items():
        value = data.get(name)
        if not (isinstance(value, list) and len(value) == 2):
            continue
        after = value[1]
        if name == "proposal_accepted":
            after = {True: "accepted", False: "declined"}.get(after, "not decided")
        rows.append((label, "—" if after in (None, "") else str(after)))
    return rows


@register.simple_tag
def capped_count(count: int, cap: int) -> str:
    """A view's count as the inbox shows it: "1,000+" once past the counting cap."""
    return f"{cap:,}+" if count > cap else f"{count:,}"


@register.inclusion_tag("cases/_bulk_form.html", takes_context=True)
def bulk_actions(context: Any, *, action: str = "", title: str = "") -> dict[str, Any]:
    """The bulk-action form a list of cases posts its ticked boxes to.

    A list includes it once and gives each row
    `<input type="checkbox" name="case" value="{{ case.pk }}" form="bulk-form">`;
    after acting, the page comes back to where it was (`next`). `action`
    preselects one (a breakdown's "document and close").
    """
    from bounceback.cases.forms import BulkForm

    request = context.get("request")
    form = BulkForm(initial={"action": action} if action else None)
    return {
        "bulk_form": form,
        # Under an inbox view: "every case in this view" is offered.
        "view_query": context.get("view_query"),
        "next": request.get_full_path() if request is not None else "",
        "title": title or "With the ticked cases",
        "csrf_token": context.get("csrf_token"),
    }


def _destination(channel: str, customer: Any) -> str:
    """What happens to a message sent on `channel`, in words the form shows beside it."""
    email = getattr(customer, "primary_email", "") or ""
    phone = getattr(customer, "primary_phone", "") or ""
    if channel == "email":
        return (
            f"Sent by email to {email}."
            if email
            else "No email address on file: choose another channel."
        )
    if channel == "web":
        return (
            f"Posted in the customer's portal; they are told by email at {email}."
            if email
            else "No email address to tell them of a portal message: choose another channel."
        )
    if channel == "sms":
        return (
            f"Sent by text message to {phone}."
            if phone
            else "No phone number on file: choose another channel."
        )
    if channel in ("phone", "in_person"):
        how = "on the call" if channel == "phone" else "in person"
        return f"Nothing is sent: say it {how}, and it is recorded on the case as said."
    return f"Sent in the {channel} conversation the customer wrote to us from."


@register.inclusion_tag("cases/_channel_hint.html")
def channel_hint(field: Any, customer: Any) -> dict[str, Any]:
    """Beside a message form's channel: what each channel does with the message. The
    one chosen shows; cases.js swaps it when the choice changes."""
    chosen = str(field.value() or "")
    return {
        "field_id": field.id_for_label,
        "hints": [
            (value, _destination(str(value), customer), str(value) == chosen)
            for value, _ in field.field.choices
        ],
    }
