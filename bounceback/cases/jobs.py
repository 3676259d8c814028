"""The cases' background work: bulk actions too large to wait for, as a job kind."""

from __future__ import annotations

from datetime import datetime

from bounceback.background.models import Job


def bulk_job_run(job: Job) -> datetime | None:
    """Work the bulk run through, a chunk per transaction, from where it stands."""
    from bounceback.cases.services import cases_bulk_run_work

    if job.subject_id is not None:
        cases_bulk_run_work(run_id=job.subject_id, job=job)
    return None
