"""Factories for segments (rules as rules_clean would store them)."""

from __future__ import annotations

import factory

from bounceback.segments.models import Segment


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    rules = factory.LazyFunction(lambda: [{"field": "tag", "op": "has", "value": "vip"}])
    priority = factory.Sequence(lambda n: 10 + n)
