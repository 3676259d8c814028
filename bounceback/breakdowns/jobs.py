"""The breakdown's background work: the outreach and the waves as job kinds, and
watching the outreach move."""

from __future__ import annotations

from datetime import datetime

from bounceback.background.models import Job
from bounceback.breakdowns.models import Breakdown
from bounceback.breakdowns.timeline import record_event

STALLED = "outreach_stalled"
MOVING = "outreach_moving"


def outreach_job_run(job: Job) -> datetime | None:
    """Contact whoever is still PENDING; stop when nobody is, or the outreach is paused."""
    from bounceback.breakdowns.services import breakdown_outreach_run

    if job.subject_id is not None:
        breakdown_outreach_run(breakdown_id=job.subject_id, job=job)
    return None


def waves_job_run(job: Job) -> datetime | None:
    """Send the breakdown's status updates and all-clear still on their way, in chunks."""
    from bounceback.breakdowns.services import breakdown_waves_run

    if job.subject_id is not None:
        breakdown_waves_run(breakdown_id=job.subject_id, job=job)
    return None


def outreach_watch(*, now: datetime | None = None) -> int:
    """Tell the people running a breakdown, once, when its outreach stops moving, and
    note on its timeline when it moves again. The clock calls this every minute.

    Returns how many breakdowns were found newly stalled.
    """
    from bounceback.breakdowns.selectors import breakdown_progress
    from bounceback.notifications.services import notify

    told = 0
    running = Breakdown.objects.filter(
        status=Breakdown.Status.RECOVERING, outreach_paused=False
    ).select_related("confirmed_by", "declared_by")
    for breakdown in running:
        reason = breakdown_progress(breakdown=breakdown).stalled
        last = breakdown.events.filter(kind__in=[STALLED, MOVING]).order_by("-at", "-id").first()
        was_stalled = last is not None and last.kind == STALLED
        if reason and not was_stalled:
            record_event(breakdown, kind=STALLED, summary=f"Outreach stalled: {reason}")
            notify(
                recipients=[breakdown.confirmed_by, breakdown.declared_by],
                kind=STALLED,
                title=f"{breakdown.reference}: the outreach has stalled",
                body=f"{reason}. It resumes by itself once the cause is gone.",
                url=f"/breakdowns/{breakdown.pk}/",
            )
            told += 1
        elif was_stalled and not reason:
            record_event(breakdown, kind=MOVING, summary="Outreach moving again")
    return told
