from __future__ import annotations

from django_tasks import task

from bounceback.background.services import job_run


@task()
def run_job(key: str) -> None:
    """A wake-up for one job row; a no-op when the job is not due or someone holds it."""
    job_run(key=key)
