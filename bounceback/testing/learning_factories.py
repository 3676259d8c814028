"""Cases with a known past for the learning app's tests: what was done and how it ended."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.funds.models import Grant
from bounceback.testing.factories import CustomerFactory, UserFactory


def past_case(
    summary: str,
    description: str = "",
    *,
    fix: str = "",
    satisfied: bool | None = None,
    will_return: bool | None = None,
    comment: str = "",
    gesture: Decimal | None = None,
    **kwargs: Any,
) -> Case:
    """A case opened through the service, then given the past it is meant to have.

    The recovery steps' own tests walk the sequence; here only the record of it
    matters, so the fields are set directly.
    """
    actor: Any = kwargs.pop("actor", None) or UserFactory()
    customer: Any = kwargs.pop("customer", None) or CustomerFactory()
    case = case_open(
        customer=customer, summary=summary, description=description, actor=actor, **kwargs
    )
    Case.objects.filter(pk=case.pk).update(
        fix_summary=fix,
        satisfied=satisfied,
        will_return=will_return,
        follow_up_comment=comment,
        status=Case.Status.CLOSED if satisfied is not None else case.status,
    )
    if gesture is not None:
        Grant.objects.create(
            case=case,
            customer=customer,
            granted_by=actor,
            kind="refund",
            value=gesture,
            reason="Made it right",
        )
    case.refresh_from_db()
    return case
