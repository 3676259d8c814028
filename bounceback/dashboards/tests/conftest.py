from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.testing.factories import CustomerFactory, UserFactory


@pytest.fixture
def manager(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.MANAGER, username="marcus")


@pytest.fixture
def lead(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD, username="leah")


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def open_case(manager):  # type: ignore[no-untyped-def]
    """Open a case through the service, then set what the test is about on the row."""

    def make(*, at: datetime | None = None, **fields: Any) -> Case:
        case = case_open(
            customer=CustomerFactory(),
            summary=fields.pop("summary", "Cold soup"),
            actor=manager,
            opened_at=at or timezone.now() - timedelta(days=1),
            **{k: fields.pop(k) for k in ("site", "failure_mode", "assignee") if k in fields},
        )
        if fields:
            Case.objects.filter(pk=case.pk).update(**fields)
            case.refresh_from_db()
        return case

    return make
