"""Reads over background work: what gave up and waits for a person, and how a job is doing."""

from __future__ import annotations

from dataclasses import dataclass

from bounceback.background.deliveries import FailedDelivery, Lane, lanes
from bounceback.background.models import Job
from bounceback.background.services import job_is_stalled


@dataclass(frozen=True)
class FailedLane:
    lane: Lane
    items: list[FailedDelivery]
    total: int


def failed_deliveries(*, per_lane: int = 100) -> list[FailedLane]:
    """Every delivery that gave up, newest first, per lane (two queries a lane)."""
    found = []
    for lane in lanes():
        rows = lane.model._default_manager.filter(state=lane.failed)
        total = rows.count()
        items = [
            lane.describe(row)
            for row in rows.select_related(*lane.related).order_by("-pk")[:per_lane]
        ]
        found.append(FailedLane(lane=lane, items=items, total=total))
    return found


@dataclass(frozen=True)
class JobStatus:
    job: Job
    stalled: bool


def job_status(key: str) -> JobStatus | None:
    """A job's row and whether it is stalled right now (shown whether or not a worker runs)."""
    job = Job.objects.filter(key=key).first()
    if job is None:
        return None
    return JobStatus(job=job, stalled=job_is_stalled(job))
