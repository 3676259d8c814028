"""Factories for the failure-mode catalog, for any app's tests.

Rows are written directly (not through the services) so a test can set up
any state, including decided and retired modes, in one line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.failuremodes.models import FailureMode, FailureModeVote, Touchpoint
from bounceback.testing.factories import CustomerFactory


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)


class FailureModeFactory(factory.django.DjangoModelFactory):
    """An accepted failure mode unless told otherwise."""

    class Meta:
        model = FailureMode

    touchpoint = factory.SubFactory(TouchpointFactory)
    title = factory.Sequence(lambda n: f"Failure {n}")
    severity = 5
    occurrence = 3
    detection = 4
    status = FailureMode.Status.ACCEPTED
    decided_at = factory.LazyAttribute(
        lambda m: timezone.now() if m.status != FailureMode.Status.PROPOSED else None
    )

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):  # type: ignore[no-untyped-def]
        super()._after_postgeneration(instance, create, results)
        if create:
            # rpn is computed by the database.
            instance.refresh_from_db(fields=["rpn"])


class FailureModeVoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FailureModeVote

    failure_mode = factory.SubFactory(FailureModeFactory, status=FailureMode.Status.PROPOSED)
    value = 1


def cases_of(mode: FailureMode, count: int, *, days_ago: int = 3) -> None:
    """`count` cases of one customer, classified as `mode`, opened `days_ago` days ago."""
    customer: Any = CustomerFactory()
    at = timezone.now() - timedelta(days=days_ago)
    for i in range(count):
        Case.objects.create(
            customer=customer, summary=f"Case {i}", failure_mode=mode, created_at=at
        )
