"""The demo's segments load through the services and fill from customer data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bounceback.demo.segments import SEGMENTS, load_segments
from bounceback.segments.models import Segment
from bounceback.segments.selectors import customer_approach
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_given_demo_customers_when_loading_segments_twice_then_each_exists_once_with_members() -> (
    None
):
    patron = CustomerFactory(tags=["vip"], lifetime_value=Decimal("8000"))
    grump = CustomerFactory(tags=["chronic-complainer"])

    load_segments()
    load_segments()

    assert Segment.objects.count() == len(SEGMENTS)
    assert customer_approach(patron).slugs == ["high-value", "vip", "new"]
    assert customer_approach(patron).timer_percent == 50
    assert customer_approach(grump).slugs == ["chronic-complainer", "new"]
    assert "patient" in customer_approach(grump).guidance[0]
