"""What a customer may see in the portal: their own cases and the messages on them.

Every read starts from the signed-in customer, so another customer's case is
simply not found (never "forbidden", which would confirm it exists).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.cases.selectors import SPOKEN
from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.portal.models import PortalLink, SurveyInvitation
from bounceback.portal.services import survey_problem, token_hash

# Only what was said between the customer and us: internal notes never show.
_SHOWN = [Interaction.Direction.INBOUND, Interaction.Direction.OUTBOUND]


def portal_link_for_token(*, token: str) -> PortalLink | None:
    return PortalLink.objects.filter(token_hash=token_hash(token)).first()


def portal_cases(*, customer: Customer) -> QuerySet[Case]:
    return (
        Case.objects.filter(customer=customer)
        .only("id", "reference", "summary", "status", "created_at", "updated_at", "customer_id")
        .order_by("-created_at", "-id")
    )


def portal_case(*, customer: Customer, reference: str) -> Case | None:
    return (
        Case.objects.filter(customer=customer, reference=reference)
        .select_related("customer")
        .first()
    )


def portal_messages(*, case: Case) -> QuerySet[Interaction]:
    """The written messages exchanged on the case.

    Not calls or conversations in person: what staff logged of those is their
    own note of what was said, not a message the customer wrote or was sent.
    """
    return (
        Interaction.objects.filter(case=case, direction__in=_SHOWN)
        .exclude(channel__in=SPOKEN)
        .only("id", "direction", "channel", "subject", "body", "occurred_at", "case_id")
        .order_by("occurred_at", "id")
    )


def survey_pending(*, case: Case) -> SurveyInvitation | None:
    """The survey the customer can answer on this case now, if any."""
    invitation = SurveyInvitation.objects.filter(case=case).order_by("-id").first()
    if invitation is None:
        return None
    invitation.case = case
    return None if survey_problem(invitation, now=timezone.now()) else invitation
