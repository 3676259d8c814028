"""Segments' background work, as job kinds (bounceback.background): recomputing members."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from bounceback.background.models import Job
from bounceback.background.services import job_progress
from bounceback.segments.models import CustomerToRecompute
from bounceback.segments.services import CHUNK, segment_memberships_recompute


def segments_customers_job(job: Job) -> datetime | None:
    """Recompute the marked customers, a chunk per transaction, until none is left."""
    done = 0
    while True:
        marks = list(
            CustomerToRecompute.objects.order_by("marked_at", "customer_id").values_list(
                "customer_id", "marked_at"
            )[:CHUNK]
        )
        if not marks:
            return None
        ids = [pk for pk, _ in marks]
        read = Q()
        for pk, marked in marks:
            read |= Q(customer_id=pk, marked_at=marked)
        with transaction.atomic():
            segment_memberships_recompute(customer_ids=ids)
            # Only the marks read: one renewed meanwhile (a newer change) stays for next round.
            CustomerToRecompute.objects.filter(read).delete()
        done += len(ids)
        job_progress(job, customers=done)


def segments_all_job(job: Job) -> datetime | None:
    """The scheduled recompute of every segment over every customer."""
    segment_memberships_recompute()
    return None
