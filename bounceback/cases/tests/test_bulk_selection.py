"""Bulk actions on a selection write, case for case, exactly what the case page's services do.

Two identical groups of cases (opened, fixed, followed up, documented, one with
a missed target, one waiting on the customer) are built at one frozen moment;
one group is acted on a case at a time through the services, each case in its
own transaction as a person would, the other through `cases_bulk_apply`'s
set-based chunks. Every row either path writes (cases, their events and
links, timers, webhook deliveries) is read back whole and compared, with ids
and references mapped to positions in the group.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases import services
from bounceback.cases.models import Case, CaseBulkRun, CaseEvent, CaseLink
from bounceback.cases.services import (
    BulkAction,
    case_apologise,
    case_assign,
    case_close,
    case_document,
    case_follow_up,
    case_link,
    case_mark_fixed,
    case_open,
    case_update,
    case_wait_on_customer,
    cases_bulk_apply,
)
from bounceback.errors import ServiceError
from bounceback.notifications.models import Notification
from bounceback.testing.factories import CustomerFactory, TeamFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory
from bounceback.timers.models import Timer
from bounceback.webhooks.models import WebhookDelivery, WebhookSubscription

from .conftest import SINCERE

pytestmark = pytest.mark.django_db

DOCS = {
    "root_cause": "The generator was never tested under load",
    "what_was_done": "Refunds and rebooking for every guest",
    "prevention_idea": "Monthly load test of the generator",
}
STATES = ["opened", "followed_up", "fixed", "documented", "breached", "waiting"]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One moment for both paths, so times set by the services and by the chunks agree."""
    moment = datetime(2026, 5, 4, 9, 15, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    yield


@pytest.fixture
def hooks(db: None) -> WebhookSubscription:
    # Someone listens, so the case.closed webhooks are written as deliveries.
    return WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example/hook", events=["case.closed"], secret="s" * 32
    )


def _group(agent: Any, label: str) -> list[Case]:
    """One case in each state of STATES, opened in that order."""
    made: list[Case] = []
    for n, state in enumerate(STATES):
        case = case_open(
            customer=CustomerFactory(name=f"Customer {n}"),  # the same in every group
            summary="Show stopped",
            actor=agent,
            assignee=agent if n % 2 else None,
        )
        if state != "opened" and state != "waiting":
            case = case_apologise(case=case, actor=agent, body=SINCERE)
            case = case_mark_fixed(case=case, actor=agent, fix_summary="Rebooked")
        if state in {"followed_up", "documented", "breached"}:
            case = case_follow_up(case=case, actor=agent, body="All well?", early_reason="Asked")
        if state in {"documented", "breached"}:
            case = case_document(case=case, actor=agent, **dict.fromkeys(DOCS, "Earlier"))
        if state == "breached":
            Timer.objects.filter(subject_type="case", subject_id=case.pk).update(
                state=Timer.State.BREACHED, met_at=None
            )
        if state == "waiting":
            case = case_wait_on_customer(case=case, actor=agent)
        made.append(case)
    return made


def _one_by_one(cases: list[Case], step: Callable[[Case], Any]) -> None:
    for case in sorted(cases, key=lambda c: c.pk):
        try:
            with transaction.atomic():
                step(Case.objects.get(pk=case.pk))
        except ServiceError:
            pass


def _rows(model: type[models.Model], **where: Any) -> list[dict[str, Any]]:
    return list(model._default_manager.filter(**where).order_by("pk").values())


def _written(cases: list[Case]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the group, ids and references replaced by positions in the group."""
    position = {c.pk: n for n, c in enumerate(sorted(cases, key=lambda c: c.pk))}
    references = {c.reference: f"<case {position[c.pk]}>" for c in cases}
    customers = {c.customer_id: position[c.pk] for c in cases}

    def text(value: str) -> str:
        for reference, shown in references.items():
            value = value.replace(reference or "", shown)
        return value

    def mapped(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name in {"id", "interaction_id", "event_id"}:
                continue
            if name in {"case_id", "subject_id", "from_case_id", "to_case_id"} and value:
                out[name] = position[value]
            elif name == "customer_id":
                out[name] = customers[value]
            elif name == "reference":
                out[name] = text(value or "")
            else:
                out[name] = json.loads(text(json.dumps(value, default=str)))
        return out

    ids = list(position)
    deliveries = [
        r
        for r in _rows(WebhookDelivery)
        if r["payload"].get("data", r["payload"]).get("case", {}).get("id") in position
    ]
    for delivery in deliveries:
        case = delivery["payload"].get("data", delivery["payload"])["case"]
        case["id"] = position[case["id"]]
        case["customer"]["id"] = customers[case["customer"]["id"]]
        case["url"] = "<url>"
    found = {
        "cases": _rows(Case, pk__in=ids),
        "events": _rows(CaseEvent, case_id__in=ids),
        "links": _rows(CaseLink, from_case_id__in=ids),
        "timers": _rows(Timer, subject_type="case", subject_id__in=ids),
        "webhooks": [
            {k: v for k, v in d.items() if k != "payload"}
            | {"case": d["payload"].get("data", d["payload"])["case"]}
            for d in deliveries
        ],
    }
    return {
        table: sorted(
            (mapped(r) for r in rows), key=lambda r: json.dumps(r, sort_keys=True, default=str)
        )
        for table, rows in found.items()
    }


def _assert_same(services_wrote: dict[str, list], chunks_wrote: dict[str, list]) -> None:
    for table, rows in services_wrote.items():
        assert len(rows) == len(chunks_wrote[table]), table
        for n, (a, b) in enumerate(zip(rows, chunks_wrote[table], strict=True)):
            assert a == b, f"{table} row {n} differs"


@pytest.mark.parametrize(
    "action",
    ["assign", "assign_nobody", "failure_mode", "link", "document", "close", "close_documenting"],
)
def test_each_case_gets_the_rows_its_own_service_writes(agent, hooks, action: str) -> None:  # type: ignore[no-untyped-def]
    # Given two identical groups of cases in every state
    lead = UserFactory(role=Role.LEAD, team=TeamFactory(name="Night shift"))
    mode = FailureModeFactory(status="accepted")
    by_hand, in_bulk = _group(agent, "A"), _group(agent, "B")
    anchor_a = min(by_hand, key=lambda c: c.pk)
    steps: dict[str, Callable[[Case], Any]] = {
        "assign": lambda c: case_assign(case=c, actor=agent, assignee=lead),
        "assign_nobody": lambda c: case_assign(case=c, actor=agent, assignee=None),
        "failure_mode": lambda c: case_update(case=c, actor=agent, failure_mode=mode),
        "link": lambda c: c.pk != anchor_a.pk and case_link(case=c, other=anchor_a, actor=agent),
        "document": lambda c: case_document(case=c, actor=agent, **DOCS),
        "close": lambda c: case_close(case=c, actor=agent),
        "close_documenting": lambda c: case_close(
            case=case_document(case=c, actor=agent, **DOCS), actor=agent
        ),
    }
    bulk_args: dict[str, dict[str, Any]] = {
        "assign": {"action": BulkAction.ASSIGN, "assignee": lead},
        "assign_nobody": {"action": BulkAction.ASSIGN, "assignee_given": True},
        "failure_mode": {"action": BulkAction.FAILURE_MODE, "failure_mode": mode},
        "link": {"action": BulkAction.LINK},
        "document": {"action": BulkAction.DOCUMENT, **DOCS},
        "close": {"action": BulkAction.CLOSE},
        "close_documenting": {"action": BulkAction.CLOSE, **DOCS},
    }

    # When one group goes case by case through the services and the other in one bulk action
    _one_by_one(by_hand, steps[action])
    outcome = cases_bulk_apply(cases=list(in_bulk), actor=agent, **bulk_args[action])

    # Then every row written is the same, case for case
    _assert_same(_written(by_hand), _written(in_bulk))
    assert outcome.done or outcome.refused


def test_refusals_are_the_services_own_and_leave_the_case_as_it_was(agent) -> None:  # type: ignore[no-untyped-def]
    cases = _group(agent, "A")
    before = _rows(Case, pk__in=[c.pk for c in cases])

    outcome = cases_bulk_apply(cases=cases, action=BulkAction.CLOSE, actor=agent)

    refused = {r.case_id: r.message for r in outcome.refused}
    by_state = dict(zip(STATES, cases, strict=True))
    assert refused[by_state["opened"].pk] == "the problem is not fixed yet"
    assert refused[by_state["fixed"].pk] == "follow up with the customer before closing"
    assert refused[by_state["followed_up"].pk].startswith("document the case first")
    assert refused[by_state["waiting"].pk].startswith("the case is waiting on the customer")
    assert {c.pk for c in outcome.done} == {by_state["documented"].pk, by_state["breached"].pk}
    after = {r["id"]: r for r in _rows(Case, pk__in=list(refused))}
    assert [after[r["id"]] for r in before if r["id"] in refused] == [
        r for r in before if r["id"] in refused
    ]


def test_any_number_of_cases_is_done_in_chunks(agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given more cases than one chunk holds
    monkeypatch.setattr(services, "BULK_CHUNK", 4)
    cases = [case_open(customer=CustomerFactory(), summary="Late", actor=agent) for _ in range(10)]
    lead = UserFactory(role=Role.LEAD)

    # When they are all assigned at once
    outcome = cases_bulk_apply(cases=cases, action=BulkAction.ASSIGN, actor=agent, assignee=lead)

    # Then every one is, with its own timeline line
    assert len(outcome.done) == 10
    assert set(Case.objects.values_list("assignee", flat=True)) == {lead.pk}
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED).count() == 10


def test_a_large_selection_runs_in_the_background_with_progress(agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bounceback.background.models import Job
    from bounceback.background.services import job_run
    from bounceback.cases.services import bulk_job_key, cases_bulk_request

    # Given a selection larger than a person should wait for
    monkeypatch.setattr(services, "BULK_INLINE", 5)
    monkeypatch.setattr(services, "BULK_CHUNK", 3)
    cases = _group(agent, "A") + _group(agent, "B")

    # When they are closed together
    run = cases_bulk_request(
        cases=cases, action=BulkAction.CLOSE, actor=agent, back_url="/cases/", **DOCS
    )

    # Then nothing is written yet: a run and its job wait for a worker
    assert isinstance(run, CaseBulkRun) and run.state == CaseBulkRun.State.RUNNING
    assert not Case.objects.filter(status=Case.Status.CLOSED).exists()
    job = Job.objects.get(key=bulk_job_key(run.pk))
    assert job.state == Job.State.WAITING

    # When the worker runs it, a chunk at a time
    job_run(key=job.key)

    # Then every case that could close is closed, the rest are listed with why, the job
    # said how far it got, and the person who asked is told
    run.refresh_from_db()
    assert run.state == CaseBulkRun.State.DONE and run.position == run.total == 12
    closed = set(Case.objects.filter(status=Case.Status.CLOSED).values_list("pk", flat=True))
    assert run.done_count == len(closed) == 6
    assert run.refused_count == len(run.refused) == 6
    assert {r["reference"] for r in run.refused}.isdisjoint(
        Case.objects.filter(pk__in=closed).values_list("reference", flat=True)
    )
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.progress["done"] == 6
    told = Notification.objects.get(recipient=agent, kind="bulk_done")
    assert "finished: 6 cases closed. 6 cases not" in told.title


def test_a_run_cut_short_goes_on_from_where_it_stood(agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import cases_bulk_request, cases_bulk_run_work

    monkeypatch.setattr(services, "BULK_INLINE", 2)
    monkeypatch.setattr(services, "BULK_CHUNK", 2)
    cases = [case_open(customer=CustomerFactory(), summary="Late", actor=agent) for _ in range(5)]
    lead = UserFactory(role=Role.LEAD)
    run = cases_bulk_request(cases=cases, action=BulkAction.ASSIGN, actor=agent, assignee=lead)
    assert isinstance(run, CaseBulkRun)
    # A worker died after its first chunk committed.
    calls = {"n": 0}
    real = services._bulk_chunk

    def dies_second_time(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_bulk_chunk", dies_second_time)
    with pytest.raises(RuntimeError):
        cases_bulk_run_work(run_id=run.pk)
    run.refresh_from_db()
    assert run.position == 2

    # When it is run again
    cases_bulk_run_work(run_id=run.pk)

    # Then each case was assigned exactly once
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED).count() == 5
    run.refresh_from_db()
    assert run.state == CaseBulkRun.State.DONE and run.done_count == 5


def test_every_case_of_a_view_from_the_inbox_and_the_runs_page(
    agent,
    agent_client,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from html import unescape

    from django.urls import reverse

    monkeypatch.setattr(services, "BULK_INLINE", 3)
    mine = [
        case_open(customer=CustomerFactory(), summary="Late", actor=agent, assignee=agent)
        for _ in range(5)
    ]
    other = case_open(customer=CustomerFactory(), summary="Not mine", actor=agent)
    lead = UserFactory(role=Role.LEAD)

    # When every case of "mine" is assigned to the lead from the inbox (none ticked)
    response = agent_client.post(
        reverse("cases:bulk"),
        {"everything": "on", "view": "view=mine", "action": "assign", "assignee": lead.pk},
    )

    # Then the run's page follows, and shows its progress until a worker is done
    run = CaseBulkRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:bulk_run", args=[run.pk])
    page = unescape(agent_client.get(response.url).content.decode())
    assert "Assign on 5 cases" in page and "0 of 5 cases worked through" in page
    assert 'hx-trigger="every 2s"' in page
    services.cases_bulk_run_work(run_id=run.pk)
    page = unescape(agent_client.get(response.url).content.decode())
    assert "5 of 5 cases worked through" in page and "every 2s" not in page
    assert set(
        Case.objects.filter(pk__in=[c.pk for c in mine]).values_list("assignee", flat=True)
    ) == {lead.pk}
    assert Case.objects.get(pk=other.pk).assignee_id is None


def test_the_api_hands_a_large_selection_to_the_background(
    make_token_client,
    agent,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(services, "BULK_INLINE", 2)
    cases = [case_open(customer=CustomerFactory(), summary="Late", actor=agent) for _ in range(3)]
    client = make_token_client("cases:read", "cases:write")

    made = client.post(
        "/api/cases/bulk",
        {"case_ids": [c.pk for c in cases], "action": "assign", "assignee_id": agent.pk},
        content_type="application/json",
    )
    assert made.status_code == 202
    run_id = made.json()["id"]
    assert made.json()["state"] == "running" and made.json()["total"] == 3
    services.cases_bulk_run_work(run_id=run_id)
    read = client.get(f"/api/cases/bulk/{run_id}")

    assert read.status_code == 200
    assert read.json()["state"] == "done" and read.json()["done_count"] == 3
    assert client.get("/api/cases/bulk/999999").status_code == 404
