from __future__ import annotations

from django_tasks import task

from bounceback.breakdowns.services import breakdown_outreach_run


@task()
def run_outreach(breakdown_id: int) -> None:
    breakdown_outreach_run(breakdown_id=breakdown_id)
