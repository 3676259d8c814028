"""Several worker processes firing the same due timers at once fire each event once."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone

from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.services import case_open
from bounceback.server.testing import CLI, REPO_ROOT, no_leftover_processes, process_env
from bounceback.testing.factories import CustomerFactory

# Small batches make the processes interleave claims instead of one taking all.
FIRE = (
    "from bounceback.timers.services import timers_fire_due\n"
    "while timers_fire_due(batch=5):\n"
    "    pass\n"
)


@pytest.mark.django_db(transaction=True)
def test_three_processes_fire_every_breach_and_escalation_exactly_once(tmp_path: Path) -> None:
    # Given 60 cases whose apology was due 90 minutes ago (breached, and due to
    # escalate to the managers 30 minutes ago)
    opened = timezone.now() - timedelta(minutes=150)
    customer = CustomerFactory()
    for i in range(60):
        case_open(customer=customer, summary=f"Late parcel {i}", actor=None, opened_at=opened)

    # When three worker processes run the timer claim at the same time
    env = process_env(data_dir=tmp_path)
    with no_leftover_processes(env):
        workers = [
            subprocess.Popen(
                [*CLI, "shell", "-c", FIRE],
                env=env,
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [w.communicate(timeout=120) for w in workers]

    # Then every case got one breach and one escalation, no more
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    per_case = (
        CaseEvent.objects.filter(kind__in=["timer_breached", "escalated"])
        .values("case_id", "kind")
        .annotate(n=Count("id"))
    )
    assert {row["n"] for row in per_case} == {1}
    assert len(per_case) == 120
    assert set(Case.objects.values_list("breach_count", flat=True)) == {1}
