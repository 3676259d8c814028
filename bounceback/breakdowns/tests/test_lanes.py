"""Large outreaches and waves in chunks: claims side by side, resuming, finishing once.

Runs on SQLite (one lane) and PostgreSQL (lanes on connections of their own,
real SKIP LOCKED claims); the tests that need real row locks say so.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from bounceback.accounts.roles import Role
from bounceback.background.models import Job
from bounceback.background.services import job_run
from bounceback.breakdowns import outreach
from bounceback.breakdowns.models import AffectedCustomer, BreakdownEvent, BreakdownMessage
from bounceback.breakdowns.services import (
    breakdown_all_clear,
    breakdown_confirm_outreach,
    breakdown_outreach_run,
    breakdown_post_update,
    breakdown_waves_run,
    waves_job_key,
)
from bounceback.bulk import lanes_for
from bounceback.cases.models import Case, CaseEvent
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import UserFactory

POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
needs_row_locks = pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL row locks")


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


def _events(breakdown, kind: str) -> int:  # type: ignore[no-untyped-def]
    return BreakdownEvent.objects.filter(breakdown=breakdown, kind=kind).count()


def _contacted_once(breakdown) -> None:  # type: ignore[no-untyped-def]
    """Every affected customer has exactly one case and one first message."""
    customers = Counter(
        Case.objects.filter(breakdown=breakdown).values_list("customer_id", flat=True)
    )
    assert set(customers.values()) == {1}
    assert len(customers) == breakdown.affected.count()
    batch = f"bd-{breakdown.pk}-outreach"
    assert OutboundMessage.objects.filter(batch=batch).count() == len(customers)


# --- The outreach -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_given_three_lanes_when_the_outreach_runs_then_everyone_is_contacted_exactly_once(
    lead, settings
):
    # Given a breakdown hitting nine customers, three connections, two per chunk
    settings.BOUNCEBACK_BULK_CONNECTIONS = 3
    breakdown = make_breakdown(actor=lead, customers=9)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)

    # When the outreach runs (side by side on PostgreSQL, one lane on SQLite)
    assert lanes_for(rows=9, chunk=2) == (3 if POSTGRES else 1)
    done = breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2)

    # Then each customer has one case and one message, the completion is
    # written once, and the outreach message counts them all
    assert done == 9
    _contacted_once(breakdown)
    assert _events(breakdown, "outreach_complete") == 1
    assert breakdown.messages.get(kind="outreach").recipients == 9
    assert not breakdown.affected.filter(state=AffectedCustomer.State.PENDING).exists()


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_given_two_runs_at_once_then_chunks_are_claimed_once_and_completion_written_once(
    lead, settings
):
    # Given a breakdown hitting twelve customers and two workers running it at once
    settings.BOUNCEBACK_BULK_CONNECTIONS = 2
    breakdown = make_breakdown(actor=lead, customers=12)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            done.append(breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then between them they processed each row once
    assert errors == []
    assert sum(done) == 12
    _contacted_once(breakdown)
    assert _events(breakdown, "outreach_complete") == 1


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_chunk_skips_rows_another_transaction_holds(lead):
    # Given a breakdown of four customers whose first two rows another chunk holds
    breakdown = make_breakdown(actor=lead, customers=4)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                outreach._pending_chunk(breakdown.pk, 2)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(timeout=30)

    # When another chunk runs meanwhile
    processed = outreach.run_chunk(breakdown_id=breakdown.pk, size=4)
    release.set()
    holder.join(timeout=30)

    # Then it took only the two rows nobody held, and the outreach is not complete
    assert processed == 2
    assert breakdown.affected.filter(state=AffectedCustomer.State.PENDING).count() == 2
    assert outreach.outreach_finish(breakdown_id=breakdown.pk) is False
    assert breakdown_outreach_run(breakdown_id=breakdown.pk) == 2
    _contacted_once(breakdown)
    assert _events(breakdown, "outreach_complete") == 1


@pytest.mark.django_db
def test_the_completion_is_written_once_however_often_finish_is_called(lead):
    breakdown = make_breakdown(actor=lead, customers=3)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    assert outreach.outreach_finish(breakdown_id=breakdown.pk) is False  # nobody contacted yet

    outreach.run_chunk(breakdown_id=breakdown.pk, size=10)

    assert outreach.outreach_finish(breakdown_id=breakdown.pk) is True
    assert outreach.outreach_finish(breakdown_id=breakdown.pk) is False
    assert _events(breakdown, "outreach_complete") == 1
    assert breakdown.messages.get(kind="outreach").recipients == 3


@pytest.mark.django_db
def test_a_lane_that_fails_rolls_its_chunk_back_and_the_next_run_resumes(lead, monkeypatch):
    # Given an outreach of five whose second chunk fails half-written
    breakdown = make_breakdown(actor=lead, customers=5)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    real = outreach._contact
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        real(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("worker lost")

    monkeypatch.setattr(outreach, "_contact", flaky)
    with pytest.raises(RuntimeError):
        breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2)

    # Then the first chunk stands, nothing of the second does, and no completion
    assert Case.objects.filter(breakdown=breakdown).count() == 2
    assert _events(breakdown, "outreach_complete") == 0

    # When the job runs again, everyone left is contacted once
    monkeypatch.setattr(outreach, "_contact", real)
    assert breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2) == 3
    _contacted_once(breakdown)
    assert _events(breakdown, "outreach_complete") == 1


# --- Waves: status updates and the all-clear ----------------------------------------------------


def _contacted(lead, customers: int):  # type: ignore[no-untyped-def]
    breakdown = make_breakdown(actor=lead, customers=customers)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    breakdown.refresh_from_db()
    return breakdown


def _case_events(breakdown, kind: str) -> Counter[int]:  # type: ignore[no-untyped-def]
    return Counter(
        CaseEvent.objects.filter(case__breakdown=breakdown, kind=kind).values_list(
            "case_id", flat=True
        )
    )


@pytest.mark.django_db
def test_a_status_update_to_more_than_a_chunk_is_sent_by_the_waves_job(lead, settings):
    # Given five contacted customers and chunks of two
    breakdown = _contacted(lead, 5)
    settings.BOUNCEBACK_OUTREACH_CHUNK = 2

    # When an update is posted, it is on its way but not yet written
    message = breakdown_post_update(breakdown=breakdown, actor=lead, body="Generators at nine.")
    assert message.state == BreakdownMessage.State.SENDING
    assert OutboundMessage.objects.filter(batch=message.batch).count() == 0
    assert Job.objects.filter(key=waves_job_key(breakdown.pk)).exists()

    # When the job runs
    assert job_run(key=waves_job_key(breakdown.pk)) is True

    # Then every case got it once, and the message is sent with its count
    message.refresh_from_db()
    assert message.state == BreakdownMessage.State.SENT and message.finished_at is not None
    assert message.recipients == 5
    assert OutboundMessage.objects.filter(batch=message.batch).count() == 5
    assert set(_case_events(breakdown, "update_sent").values()) == {1}
    assert len(_case_events(breakdown, "update_sent")) == 5
    assert _events(breakdown, "update_sent") == 1


@pytest.mark.django_db
def test_a_killed_wave_resumes_with_the_cases_that_did_not_get_it(lead, settings, monkeypatch):
    # Given an update on its way to five cases in chunks of two
    breakdown = _contacted(lead, 5)
    settings.BOUNCEBACK_OUTREACH_CHUNK = 2
    message = breakdown_post_update(breakdown=breakdown, actor=lead, body="Generators at nine.")

    # When the run dies in its second chunk, half-written
    real = outreach._send_wave_to
    calls = []

    def dying(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        sent = real(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return sent

    monkeypatch.setattr(outreach, "_send_wave_to", dying)
    with pytest.raises(RuntimeError):
        breakdown_waves_run(breakdown_id=breakdown.pk, chunk=2)
    assert OutboundMessage.objects.filter(batch=message.batch).count() == 2
    message.refresh_from_db()
    assert message.state == BreakdownMessage.State.SENDING

    # Then the next run sends the other three, and nobody gets it twice
    monkeypatch.setattr(outreach, "_send_wave_to", real)
    assert breakdown_waves_run(breakdown_id=breakdown.pk, chunk=2) == 3
    assert OutboundMessage.objects.filter(batch=message.batch).count() == 5
    assert set(_case_events(breakdown, "update_sent").values()) == {1}
    assert _events(breakdown, "update_sent") == 1
    assert breakdown_waves_run(breakdown_id=breakdown.pk, chunk=2) == 0
    assert _events(breakdown, "update_sent") == 1


@pytest.mark.django_db
def test_the_all_clear_in_chunks_fixes_every_case_once(lead, settings):
    # Given five contacted customers, an update still on its way, chunks of two
    breakdown = _contacted(lead, 5)
    settings.BOUNCEBACK_OUTREACH_CHUNK = 2
    update = breakdown_post_update(breakdown=breakdown, actor=lead, body="Generators at nine.")

    # When the all-clear is given: the breakdown is all-clear at once
    breakdown = breakdown_all_clear(breakdown=breakdown, actor=lead, body="Power is back.")
    assert breakdown.status == "all_clear"
    clear = breakdown.messages.get(kind="all_clear")
    assert clear.state == BreakdownMessage.State.SENDING

    # When the waves job runs: the update first, then the all-clear
    assert breakdown_waves_run(breakdown_id=breakdown.pk, chunk=2) == 10

    # Then every case was updated once and fixed once, with follow-up clocks
    update.refresh_from_db()
    clear.refresh_from_db()
    assert (update.state, clear.state) == ("sent", "sent")
    assert (update.recipients, clear.recipients) == (5, 5)
    assert set(Case.objects.filter(breakdown=breakdown).values_list("status", flat=True)) == {
        "fixed"
    }
    assert set(_case_events(breakdown, "fixed").values()) == {1}
    assert len(_case_events(breakdown, "fixed")) == 5
    assert update.pk < clear.pk
    assert _events(breakdown, "all_clear") == 1 and _events(breakdown, "all_clear_sent") == 1


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_wave_on_several_lanes_reaches_each_case_once(lead, settings):
    settings.BOUNCEBACK_BULK_CONNECTIONS = 3
    breakdown = _contacted(lead, 9)
    settings.BOUNCEBACK_OUTREACH_CHUNK = 2
    message = breakdown_post_update(breakdown=breakdown, actor=lead, body="Generators at nine.")

    assert breakdown_waves_run(breakdown_id=breakdown.pk, chunk=2) == 9

    message.refresh_from_db()
    assert message.recipients == 9
    assert set(_case_events(breakdown, "update_sent").values()) == {1}
    assert len(_case_events(breakdown, "update_sent")) == 9
    assert _events(breakdown, "update_sent") == 1


@pytest.mark.django_db
def test_the_page_and_the_api_say_a_wave_is_still_sending(lead, settings, client):
    breakdown = _contacted(lead, 3)
    settings.BOUNCEBACK_OUTREACH_CHUNK = 2
    breakdown_post_update(breakdown=breakdown, actor=lead, body="Generators at nine.")
    client.force_login(lead)

    page = client.get(f"/breakdowns/{breakdown.pk}/")

    assert "Sending… ·" in page.content.decode()
    breakdown_waves_run(breakdown_id=breakdown.pk)
    page = client.get(f"/breakdowns/{breakdown.pk}/")
    assert "Sending… ·" not in page.content.decode()
    assert "3 recipients" in page.content.decode()


def test_the_garbage_collector_comes_back_when_the_last_chunk_under_way_ends():
    import gc

    from bounceback.bulk import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():  # a second lane's chunk
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a failed chunk")
    assert gc.isenabled()
