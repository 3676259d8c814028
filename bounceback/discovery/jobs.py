"""Discovery's background work, as job kinds (bounceback.background)."""

from __future__ import annotations

from datetime import datetime

from bounceback.background.models import Job
from bounceback.background.services import job_progress
from bounceback.discovery.services import rules_run_marked


def discovery_rules_job(job: Job) -> datetime | None:
    """Run the rules on the marked new cases and messages, a chunk per transaction,
    until none is left (a chunk cut short is done again from its marks)."""
    done = 0
    while True:
        count = rules_run_marked()
        if not count:
            return None
        done += count
        job_progress(job, done=done)
