"""The kinds of background job, each registered by its own app in `apps.py`.

A kind names the function that does the work for one job row and, optionally,
what to do when that work stops moving (tell a person). The background app
knows nothing of outreach or segments; they know how to be run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bounceback.background.models import Job


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    `run(job)` does the work (or the next part of it) and returns None when
    there is nothing left, or the time to come back (work that must wait, such
    as a paused or rate-limited wave). It must be idempotent: a run cut short
    by a crash is run again from the rows it left. It calls
    `background.services.job_progress` as it goes, which keeps its lease and
    tells the stall check it is moving.

    `on_stall(job)` is called once when the job has not moved for
    `stall_after` although it should have (its owner is told, say); database
    writes only, inside the check's transaction.
    """

    name: str
    run: Callable[[Job], datetime | None]
    on_stall: Callable[[Job], None] | None = None
    stall_after: timedelta = timedelta(minutes=2)


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    _KINDS[kind.name] = kind


def job_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)
