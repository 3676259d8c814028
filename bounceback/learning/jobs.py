"""Background work of the learning app."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bounceback.background.models import Job


def themes_job_run(job: Job) -> datetime | None:
    """Recompute the themes (idempotent: a second run gives the same themes again)."""
    from bounceback.learning.services import themes_recompute

    themes_recompute()
    return None
