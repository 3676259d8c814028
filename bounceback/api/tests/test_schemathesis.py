"""Schemathesis over the whole published API (issue 13).

Every operation in the committed `bounceback/api/openapi.json` (what clients
download) is called with generated requests, valid and invalid, through the
running Django application, with a token that carries every scope and acts for
an administrator. Each answer must be documented: no server error, a status
code the operation lists, the content type it lists, a body that matches its
schema. A few rows of every kind exist first, so generated ids sometimes hit.

Run it alone with `pytest -m schemathesis`. The number of generated examples
per operation is bounded (SCHEMATHESIS_MAX_EXAMPLES, default 3; the coverage
phase adds its boundary cases: nulls, wrong types, huge numbers), and the whole
run has a deadline (SCHEMATHESIS_BUDGET_SECONDS, default 600): operations not
reached by then are reported as skipped, never passed silently. All 133
operations take about 85 s of CPU time (1m15 user, 8 s system), so a minute
or two on an idle two-core machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from bounceback.accounts.roles import Role
from bounceback.apitokens.scopes import SCOPES
from bounceback.apitokens.services import token_create

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
BUDGET_SECONDS = float(os.environ.get("SCHEMATHESIS_BUDGET_SECONDS", "600"))
_started: list[float] = []

config = SchemathesisConfig.from_dict(
    {
        "seed": 13,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": False},
        "phases": {
            "coverage": {
                # Boundary cases of every parameter, but not every HTTP method
                # on every path nor requests without the token: those only
                # answer 405 and 401.
                "unexpected-methods": [],
                "generation": {"with-security-parameters": False},
            }
        },
    }
)
# Raw e-mail handed in for intake is bytes, like any file.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
schema = schemathesis.openapi.from_path(COMMITTED, config=config)
schema.app = get_wsgi_application()

# What the contract promises about answers. Whether a generated request that the
# schema allows is accepted is not among them: the services refuse more than a
# JSON schema can say (an unknown customer, a closed case, a bad e-mail address).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]


@pytest.fixture
def _keep_the_connection() -> Iterator[None]:
    # A WSGI request closes the database connection when it ends; the test's
    # transaction lives on that connection (Django's test client does the same).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: None, _keep_the_connection: None) -> str:
    """A token with every scope, acting for an administrator, and a few rows to find."""
    _started[:] = _started or [time.monotonic()]
    if time.monotonic() - _started[0] > BUDGET_SECONDS:
        pytest.skip(f"the schemathesis deadline ({BUDGET_SECONDS:.0f} s) has passed")
    from bounceback.testing.breakdowns_factories import make_breakdown
    from bounceback.testing.factories import (
        InteractionFactory,
        TransactionFactory,
        UserFactory,
    )
    from bounceback.testing.failuremodes_factories import FailureModeFactory
    from bounceback.testing.funds_factories import open_case
    from bounceback.testing.segments_factories import SegmentFactory
    from bounceback.testing.webhooks_factories import (
        InboundChannelFactory,
        WebhookSubscriptionFactory,
    )

    admin = UserFactory(role=Role.ADMIN)
    case = open_case(actor=admin)
    TransactionFactory(customer=case.customer)
    InteractionFactory(customer=case.customer)
    FailureModeFactory()
    make_breakdown(actor=admin)
    SegmentFactory()
    WebhookSubscriptionFactory()
    InboundChannelFactory()
    _, plaintext = token_create(name="schemathesis", scopes=list(SCOPES), actor=admin)
    return plaintext


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_operation_answers_as_documented(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
