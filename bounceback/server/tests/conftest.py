from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from bounceback.server.testing import clear_redis_queue


@pytest.fixture
def clean_queue(transactional_db: None) -> Iterator[None]:
    """Each test starts and ends with an empty queue on the configured backend.

    The database backend is emptied by the transactional_db flush; Redis keeps
    jobs across tests (and from other suites' committed enqueues), so it is
    cleared by hand, before and after.
    """
    if settings.TASK_BACKEND == "redis":
        clear_redis_queue()
    yield
    if settings.TASK_BACKEND == "redis":
        clear_redis_queue()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
