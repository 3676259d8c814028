"""Other apps' interest in new cases (discovery's rules), registered from their
`apps.py`, so the cases app imports none of them.

A hook runs inside the transaction that opened the case: it may only write rows
(marks, a `job_request`), never send or call out, and anything slow belongs in
the job it asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bounceback.cases.models import Case

_opened: list[Callable[[Case], None]] = []


def case_opened_register(hook: Callable[[Case], None]) -> None:
    """Call `hook(case)` for every case `case_open` opens, in its transaction."""
    if hook not in _opened:
        _opened.append(hook)


def case_opened_announce(case: Case) -> None:
    for hook in _opened:
        hook(case)
