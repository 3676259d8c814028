"""Enqueueing background tasks.

Rule for callers: enqueue through `enqueue_on_commit` from inside the service's
transaction. The task is handed to the backend only after the rows it will load
are committed, and never if the transaction rolls back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs))
