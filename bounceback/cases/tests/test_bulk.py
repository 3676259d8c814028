"""The set-based case writes match the row-at-a-time services column for column.

Given two identical groups of customers, one is handled by the case services a
case at a time and the other by cases/bulk.py in one go; every row either path
writes (cases, their events, interactions, outbox messages, timers) is read
back whole and compared, with only what must differ (ids, and the references
and random Message-IDs made from them) mapped to positions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.breakdowns.outreach import _fill
from bounceback.cases.bulk import (
    OpenedCase,
    ProactiveContact,
    ProactiveOutreach,
    Wave,
    WaveCase,
    cases_open_proactive,
    cases_send_wave,
)
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.services import case_open_proactive, case_send_wave_message
from bounceback.interactions.models import Interaction
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_stagger
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory
from bounceback.timers.models import Timer

pytestmark = pytest.mark.django_db

PEOPLE = ["Ada Lovelace", "Grace Hopper", "Alan Turing"]
SUBJECT = "We're sorry, {{ customer.first_name }}"
BODY = "Dear {{ customer.first_name }}, the hall lost power. Your case is {{ case.reference }}."


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One moment for both paths, so auto-set times (created_at, updated_at) agree too."""
    from datetime import UTC

    moment = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    yield


def _now() -> datetime:
    return timezone.now()


def _customers(prefix: str) -> list[Any]:
    return [
        CustomerFactory(name=name, email=f"{prefix}{n}@example.com")
        for n, name in enumerate(PEOPLE)
    ]


def _contacts(customers: list[Any]) -> list[ProactiveContact]:
    return [
        ProactiveContact(
            customer_id=c.pk,
            customer_name=c.name,
            transaction_id=None,
            channel="email",
            address=c.primary_email,
            subject_template=SUBJECT,
            body_template=BODY,
        )
        for c in customers
    ]


@pytest.fixture
def outreach() -> ProactiveOutreach:
    lead = UserFactory(role=Role.LEAD)
    breakdown = make_breakdown(actor=lead, site=SiteFactory())
    return ProactiveOutreach(
        breakdown_id=breakdown.pk,
        breakdown_reference=breakdown.reference or "",
        title="Power cut at the hall",
        failure_mode_id=None,
        severity="high",
        site_id=breakdown.site_id,
        apology_score=88,
        batch=f"bd-{breakdown.pk}-outreach",
    )


def _open_one_by_one(
    outreach: ProactiveOutreach, contacts: list[ProactiveContact], actor: Any
) -> list[OpenedCase]:
    times = outbox_stagger(channels=[c.channel for c in contacts], now=_now())
    return [
        case_open_proactive(
            outreach=outreach, contact=c, fill=_fill, actor=actor, now=_now(), send_at=at
        )
        for c, at in zip(contacts, times, strict=True)
    ]


def _rows(model: type[models.Model], **where: Any) -> list[dict[str, Any]]:
    """Every column of the matching rows, ordered by id."""
    return list(model._default_manager.filter(**where).order_by("pk").values())


class Positions:
    """Maps what must differ between the paths to positions, so the rest compares as is."""

    def __init__(self, customers: list[Any], opened: list[OpenedCase]) -> None:
        cases = {o.case_id: n for n, o in enumerate(opened)}
        # A case's messages by their order on the case: (case, first / second...).
        interactions: dict[int, Any] = {}
        for pk, case_id in (
            Interaction.objects.filter(case_id__in=list(cases))
            .order_by("pk")
            .values_list("pk", "case_id")
        ):
            interactions[pk] = (
                cases[case_id],
                sum(1 for v in interactions.values() if v[0] == cases[case_id]),
            )
        self.ids: dict[str, dict[int, Any]] = {
            "customer_id": {c.pk: n for n, c in enumerate(customers)},
            "case_id": cases,
            "interaction_id": interactions,
            "subject_id": cases,
        }
        self.references = {
            Case.objects.get(pk=o.case_id).reference: f"<case {n}>" for n, o in enumerate(opened)
        }
        self.emails = {c.primary_email: f"<email {n}>" for n, c in enumerate(customers)}

    def text(self, value: str) -> str:
        for reference, shown in self.references.items():
            value = value.replace(reference, shown)
        for email, shown in self.emails.items():
            value = value.replace(email, shown)
        return value

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        mapped: dict[str, Any] = {}
        for name, value in row.items():
            if name == "id":
                continue
            table = self.ids.get(name)
            if table is not None and value is not None:
                mapped[name] = ("position", table[value])
            elif name == "message_id":
                # Random by design (a fresh Message-ID per message); only its shape compares.
                mapped[name] = bool(re.fullmatch(r"<[0-9a-f]{32}@[^>]+>", value))
            elif isinstance(value, str):
                mapped[name] = self.text(value)
            elif isinstance(value, dict):
                mapped[name] = {
                    k: self.text(v) if isinstance(v, str) else v for k, v in value.items()
                }
            else:
                mapped[name] = value
        return mapped


def _written(opened: list[OpenedCase], customers: list[Any]) -> dict[str, list[dict]]:
    positions = Positions(customers, opened)
    cases = [o.case_id for o in opened]
    messages = {
        m.pk: n
        for n, m in enumerate(
            OutboundMessage.objects.filter(interaction__case_id__in=cases).order_by("pk")
        )
    }
    return {
        "cases": [positions.row(r) for r in _rows(Case, pk__in=cases)],
        "events": [positions.row(r) for r in _rows(CaseEvent, case_id__in=cases)],
        "interactions": [positions.row(r) for r in _rows(Interaction, case_id__in=cases)],
        "outbox": [positions.row(r) for r in _rows(OutboundMessage, pk__in=list(messages))],
        "timers": [
            positions.row(r) for r in _rows(Timer, subject_type="case", subject_id__in=cases)
        ],
    }


def _assert_same(one_by_one: dict[str, list[dict]], set_based: dict[str, list[dict]]) -> None:
    # The order rows were inserted in is not something either path promises.
    def ordered(rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))

    for table in one_by_one:
        assert len(one_by_one[table]) == len(set_based[table]), table
        pairs = zip(ordered(one_by_one[table]), ordered(set_based[table]), strict=True)
        for n, (a, b) in enumerate(pairs):
            assert a == b, f"{table} row {n} differs"


class _Undo(Exception):
    pass


def _capture(write: Callable[[], list[OpenedCase]], customers: list[Any]) -> dict[str, list]:
    """What `write` leaves in the database, read back whole; then undone, so the other
    path starts from the very same state (the outbox's queue included)."""
    written: dict[str, list] = {}
    try:
        with transaction.atomic():
            written.update(_written(write(), customers))
            raise _Undo
    except _Undo:
        pass
    return written


def test_proactive_cases_are_the_same_one_by_one_and_set_based(outreach: ProactiveOutreach) -> None:
    lead = UserFactory(role=Role.LEAD)
    customers = _customers("a")
    contacts = _contacts(customers)

    one_by_one = _capture(lambda: _open_one_by_one(outreach, contacts, lead), customers)
    set_based = _capture(
        lambda: cases_open_proactive(
            outreach=outreach, contacts=contacts, fill=_fill, actor=lead, now=_now()
        ),
        customers,
    )

    assert len(one_by_one["events"]) == 6 and len(one_by_one["outbox"]) == 3
    _assert_same(one_by_one, set_based)


def _wave_cases(
    opened: list[OpenedCase], customers: list[Any], *, messaged: bool
) -> list[WaveCase]:
    cases = []
    for o, c in zip(opened, customers, strict=True):
        case = Case.objects.get(pk=o.case_id)
        cases.append(
            WaveCase(
                case_id=case.pk,
                reference=case.reference or "",
                summary=case.summary,
                case_channel=case.channel,
                customer_id=c.pk,
                customer_name=c.name,
                status=case.status,
                apologised_at=case.apologised_at,
                fixed_at=case.fixed_at,
                documented_at=case.documented_at,
                severity=case.severity,
                timer_percent=case.timer_percent,
                calendar=None,
                channel="email" if messaged else None,
                address=c.primary_email if messaged else None,
            )
        )
    return cases


@pytest.mark.parametrize("all_clear", [False, True], ids=["status update", "all-clear"])
def test_a_wave_writes_the_same_one_by_one_and_set_based(
    outreach: ProactiveOutreach, all_clear: bool
) -> None:
    lead = UserFactory(role=Role.LEAD)
    customers = _customers("a")
    opened = cases_open_proactive(
        outreach=outreach, contacts=_contacts(customers), fill=_fill, actor=lead, now=_now()
    )
    wave = Wave(
        breakdown_reference=outreach.breakdown_reference,
        purpose="all_clear" if all_clear else "update",
        batch="bd-test-wave",
        subject_template="An update, {{ customer.first_name }}",
        body_template="Power is back at the hall, {{ customer.first_name }}.",
        default_subject="An update",
        fix=all_clear,
        held=False,
    )
    # The last customer has no way to be reached: a case on the wave, but no message.
    targets = _wave_cases(opened[:2], customers[:2], messaged=True) + _wave_cases(
        opened[2:], customers[2:], messaged=False
    )
    later = _now()

    def one_by_one() -> list[OpenedCase]:
        times = iter(outbox_stagger(channels=["email", "email"], now=later))
        for target in targets:
            case_send_wave_message(
                wave=wave,
                target=target,
                fill=_fill,
                actor=lead,
                now=later,
                send_at=next(times) if target.channel else None,
            )
        return opened

    def set_based() -> list[OpenedCase]:
        assert cases_send_wave(wave=wave, cases=targets, fill=_fill, actor=lead, now=later) == 2
        return opened

    by_row = _capture(one_by_one, customers)
    by_set = _capture(set_based, customers)

    if all_clear:
        assert {r["status"] for r in by_row["cases"]} == {Case.Status.FIXED}
        assert {r["kind"] for r in by_row["timers"]} == {"follow_up", "document"}
    else:
        assert {r["status"] for r in by_row["cases"]} == {
            Case.Status.FIXING,
            Case.Status.APOLOGISED,
        }
    assert len(by_row["outbox"]) == 5
    _assert_same(by_row, by_set)
