from __future__ import annotations

import pytest

from bounceback.learning import index


@pytest.fixture(autouse=True)
def _fresh_index():  # type: ignore[no-untyped-def]
    # The search matrix is cached per process; each test has its own database rows.
    index.reset()
    yield
    index.reset()
