"""The demo's learning: themes, a merged duplicate, a problem fixed and one that came back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from bounceback.cases.models import Case
from bounceback.demo.services import demo_load
from bounceback.learning.models import CaseText, Problem, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    unblocked = django_db_blocker.unblock()  # type: ignore[attr-defined]
    with unblocked, override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        demo_load(seed=7, customers=80)
        yield
        transaction.set_rollback(True)


def test_every_demo_case_has_a_theme(demo: None) -> None:
    assert Theme.objects.active().count() >= 3
    assert CaseText.objects.filter(theme__isnull=True).count() == 0
    # Every real case: a drill's cases (loaded last) are kept out of the themes.
    assert CaseText.objects.count() == Case.objects.real().count()


def test_the_demo_has_a_merged_duplicate(demo: None) -> None:
    merged = Case.objects.filter(merged_into__isnull=False)
    assert merged.count() == 1
    assert merged.get().status == Case.Status.CLOSED


def test_one_problem_is_verified_fixed_and_one_came_back(demo: None) -> None:
    statuses = dict(Problem.objects.values_list("title", "status"))
    assert statuses["Power cuts stop shows at the Grand Hall"] == Problem.Status.VERIFIED_FIXED
    assert statuses["Deliveries stuck on the Lower Valley road"] == Problem.Status.REOPENED
