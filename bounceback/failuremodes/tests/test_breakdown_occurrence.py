"""A breakdown is one occurrence of its failure mode however many customers it hit."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.failuremodes.selectors import catalog
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory

pytestmark = pytest.mark.django_db


def _cases(n: int, mode, **linked) -> list[Case]:  # type: ignore[no-untyped-def]
    cases = [
        case_open(customer=CustomerFactory(), summary="Power cut", actor=None, failure_mode=mode)
        for _ in range(n)
    ]
    if linked:
        # As a breakdown's outreach leaves them: linked to it, with its failure mode.
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(**linked)
    return cases


def test_a_breakdowns_cases_count_once_with_the_customers_beside_them() -> None:
    mode = FailureModeFactory(status="accepted", title="Power cut during a show", occurrence=2)
    lead = UserFactory(role=Role.LEAD)
    breakdown = make_breakdown(actor=lead)
    _cases(63, mode, breakdown=breakdown, proactive=True)
    _cases(2, mode)

    [entry] = catalog(failure_mode_id=mode.pk)

    assert entry.observed.cases == 3
    assert entry.observed.customers == 65
    client = Client()
    client.force_login(lead)
    page = client.get("/catalog/").content.decode()
    assert "3 occurrences" in page and "65 customers affected" in page
    api = client.get(f"/api/catalog/failure-modes/{mode.pk}")
    assert api.status_code == 200, api.content
    observed = api.json()["observed"]
    assert observed["case_count"] == 3 and observed["customer_count"] == 65


def test_without_breakdowns_occurrences_are_the_cases() -> None:
    mode = FailureModeFactory(status="accepted")
    _cases(4, mode)
    [entry] = catalog(failure_mode_id=mode.pk)
    assert entry.observed.cases == entry.observed.customers == 4
    assert not entry.observed.breakdown_counted_once
