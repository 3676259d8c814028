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


TOPICS = {
    "power": [
        "The power went out in the hall during the concert and the lights never came back",
        "Blackout at the show, the stage lights and sound died halfway through the concert",
        "Power failure in the grand hall, the concert stopped in the dark for an hour",
        "The electricity cut out during the dance competition and the music stopped",
        "Lights and power failed in the hall, the show was cancelled in the dark",
        "Concert stopped because the power failed, we sat in the dark hall",
    ],
    "delivery": [
        "My parcel delivery was three days late, the van never came",
        "The delivery from the depot arrived late, the road in the valley was flooded",
        "Late delivery again, the parcel was promised Monday and came Thursday",
        "Courier van did not deliver my parcel on the promised day, very late",
        "The depot delivery was delayed by the flood and my parcel came late",
        "Parcel delivery late, nobody told me the van was delayed",
    ],
    "repair": [
        "My car was not repaired at the body shop, the technician was off sick",
        "Car repair not finished when promised, the mechanic called in sick",
        "Body shop kept my car two extra days, the paint repair was not done",
        "The technician was sick so the repair on my car was not done",
        "Car not ready at the body shop, dent repair still waiting",
        "Mechanic off sick, my car repair delayed and nobody called",
    ],
}


def topic_cases(**kwargs: Any) -> dict[str, list[Case]]:
    """Six cases for each of three clearly different failures."""
    return {
        topic: [past_case(text[:60], text, **kwargs) for text in texts]
        for topic, texts in TOPICS.items()
    }


def volume(start: Any, days: int, per_day: int) -> None:
    """`per_day` transactions on each of `days` days from `start` (the business's volume)."""
    from datetime import timedelta

    from bounceback.transactions.models import Transaction

    customer: Any = CustomerFactory()
    Transaction.objects.bulk_create(
        [
            Transaction(
                customer=customer,
                kind=Transaction.Kind.ORDER,
                source="test",
                amount=Decimal("20.00"),
                currency="USD",
                occurred_at=start + timedelta(days=d, hours=i % 20),
            )
            for d in range(days)
            for i in range(per_day)
        ]
    )


def cases_at(times: list[Any], **kwargs: Any) -> list[Case]:
    """Cases opened at the given moments (a failure mode or site in kwargs)."""
    made = []
    for i, at in enumerate(times):
        case = past_case(f"Late delivery {i}", "The parcel came late", **kwargs)
        Case.objects.filter(pk=case.pk).update(created_at=at)
        made.append(case)
    return made
