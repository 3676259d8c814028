"""Helpers for the portal's tests: cases taken through the sequence by the services."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail

from bounceback.cases.models import Case
from bounceback.interactions.models import Interaction
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_deliver

SINCERE = (
    "Ada, I'm sorry: your table was given away because our booking system lost your "
    "reservation and nobody checked with you. That was our mistake. Your next dinner is on "
    "us, and from now on we confirm every booking by phone the day before so this does not "
    "happen again."
)
LINK = re.compile(r"https?://\S+/(?:portal/enter|survey)/[^/\s]+/")


def make_case(*, customer: Any, assignee: Any, summary: str = "Table given away") -> Case:
    from bounceback.cases.services import case_open

    return case_open(customer=customer, summary=summary, actor=assignee, assignee=assignee)


def make_followed_up_case(
    *, customer: Any, assignee: Any, channel: str | None = "email"
) -> tuple[Case, str]:
    """A case fixed and followed up (early, with a reason); returns it and the survey URL
    found in the follow-up message ("" when the follow-up carried none)."""
    from bounceback.cases.services import case_apologise, case_follow_up, case_mark_fixed

    case = make_case(customer=customer, assignee=assignee)
    case = case_apologise(case=case, actor=assignee, body=SINCERE)
    case = case_mark_fixed(case=case, actor=assignee, fix_summary="New booking, dinner on us")
    case = case_follow_up(
        case=case,
        actor=assignee,
        body="Are you happy with how we put it right?",
        channel=channel,
        early_reason="The customer asked us to check in today",
    )
    message = (
        Interaction.objects.filter(case=case, metadata__purpose="follow_up")
        .order_by("-id")
        .values_list("body", flat=True)
        .first()
    )
    found = LINK.search(message or "")
    return case, found.group(0) if found else ""


def deliver_all() -> None:
    """Send every queued outbox message now, as the worker would."""
    for pk in OutboundMessage.objects.filter(state=OutboundMessage.State.QUEUED).values_list(
        "pk", flat=True
    ):
        outbox_deliver(message_id=pk)


def links_in_mail(kind: str = "portal/enter") -> list[str]:
    """Every link of that kind in the emails sent so far (django.core.mail.outbox), in order."""
    found = []
    for message in mail.outbox:
        found += [m for m in LINK.findall(str(message.body)) if f"/{kind}/" in m]
    return found


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
