from __future__ import annotations

from django_tasks import task

from bounceback.segments.models import Segment
from bounceback.segments.services import segment_memberships_recompute


@task()
def segments_recompute_customers(customer_ids: list[int]) -> None:
    segment_memberships_recompute(customer_ids=customer_ids)


@task()
def segments_recompute(segment_id: int | None = None) -> None:
    segment = Segment.objects.filter(pk=segment_id).first() if segment_id else None
    if segment_id and segment is None:
        return
    segment_memberships_recompute(segment=segment)
