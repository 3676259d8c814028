"""The move from free-text case categories to failure modes keeps every case's category."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("cases", "0002_failure_mode_breakdown"), ("failuremodes", "0001_initial")]


@pytest.fixture
def back_to_latest():
    yield
    # Leave the schema fully migrated for the tests after this one.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_each_category_becomes_an_accepted_failure_mode_linked_to_its_cases():
    # Given cases saved with categories before the change (two spellings of one)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    customer = old.get_model("customers", "Customer").objects.create(name="Ada Lovelace")
    Case = old.get_model("cases", "Case")
    made = {
        category: Case.objects.create(customer=customer, summary="s", category=category).pk
        for category in ["Power failure", "power failure ", "Billing", ""]
    }

    # When the migrations run
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    # Then each distinct category is one accepted failure mode and every case keeps it
    from bounceback.cases.models import Case as CurrentCase
    from bounceback.failuremodes.models import FailureMode

    modes = {m.title: m for m in FailureMode.objects.all()}
    assert sorted(modes) == ["Billing", "Power failure"]
    assert {m.status for m in modes.values()} == {FailureMode.Status.ACCEPTED}
    linked = dict(CurrentCase.objects.values_list("pk", "failure_mode__title"))
    assert linked == {
        made["Power failure"]: "Power failure",
        made["power failure "]: "Power failure",
        made["Billing"]: "Billing",
        made[""]: None,
    }
