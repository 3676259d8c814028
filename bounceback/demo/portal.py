"""The demo's public side: a report that came in through the web form, and a survey answered.

Both go through the portal's own services, as a visitor's request would: the
report opens its case, logs the customer's words and queues the email with
their magic link; the survey answer lands on the case's follow-up step.
Call after the demo's cases are loaded (the survey needs a case waiting for
its follow-up answer; without one, only the report is loaded).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from bounceback.portal.models import SurveyInvitation
from bounceback.portal.services import (
    WebReport,
    portal_survey_answer,
    survey_problem,
    web_report_submit,
)
from bounceback.sites.models import Site

REPORTER = "Priya Raman"
REPORTER_EMAIL = "priya.raman@example.com"


def load_portal() -> None:
    now = timezone.now()
    web_report_submit(
        report=WebReport(
            name=REPORTER,
            email=REPORTER_EMAIL,
            phone="",
            what_happened=(
                "The cloakroom lost my coat at last night's concert. Staff told me to come back "
                "in the morning, but nobody there knew anything about it."
            ),
            happened_at=now - timedelta(hours=14),
            site=Site.objects.order_by("name").first(),
            wanted="Find my coat, or pay for a new one (it cost about 180).",
            contact_by="email",
        ),
        # No address: the demo is not a visitor, so it never counts against a limit.
        ip=None,
    )
    waiting = (
        # Not the past breakdown's cases: their history ended days ago.
        SurveyInvitation.objects.filter(
            used_at__isnull=True, expires_at__gt=now, case__breakdown__isnull=True
        )
        .select_related("case__customer")
        .order_by("-id")
    )
    for invitation in waiting[:50]:
        if survey_problem(invitation, now=now) is None:
            portal_survey_answer(
                customer=invitation.case.customer,
                invitation_id=invitation.pk,
                satisfaction=4,
                will_return="yes",
                comment="Thank you for sorting it out so quickly. A call on the day would "
                "have saved us the trip, though.",
            )
            return
