from __future__ import annotations

import pytest

from bounceback.learning import index
from bounceback.learning.services import case_texts_refresh, themes_recompute
from bounceback.testing.learning_factories import topic_cases


@pytest.fixture(autouse=True)
def _fresh_index():  # type: ignore[no-untyped-def]
    # The search matrix is cached per process; each test has its own database rows.
    index.reset()
    yield
    index.reset()


@pytest.fixture
def topics():  # type: ignore[no-untyped-def]
    """Cases on three topics, their texts indexed and grouped into themes."""
    made = topic_cases()
    case_texts_refresh()
    themes_recompute(k=3)
    return made
