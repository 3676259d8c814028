from __future__ import annotations

import pytest

from bounceback.testing.factories import CustomerFactory

SINCERE = (
    "Chad, I'm sorry: your car was not ready because our technician called in sick and we "
    "did not phone you. That was our mistake. I will have it finished by noon tomorrow at no "
    "extra cost, and from now on we call every customer as soon as a job is delayed so this "
    "does not happen again."
)


@pytest.fixture
def customer(db: None):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Chad Patterson", email="chad@example.com")


@pytest.fixture
def open_case(customer, agent):  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_open

    return case_open(
        customer=customer,
        summary="Car not ready: technician called in sick",
        description="I came to collect my car and nothing had been done. Nobody called me.",
        actor=agent,
        assignee=agent,
    )
