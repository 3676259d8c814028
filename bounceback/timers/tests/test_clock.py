from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.api.models import IdempotencyKey
from bounceback.timers.clock import clock_run, clock_tick, housekeeping
from bounceback.timers.models import Timer
from bounceback.timers.services import timer_start


@pytest.mark.django_db
def test_a_tick_fires_due_timers_and_only_those() -> None:
    past = timezone.now() - timedelta(hours=1)
    due = timer_start(
        subject_type="none", subject_id=1, kind="x", target=timedelta(minutes=5), start=past
    )
    later = timer_start(subject_type="none", subject_id=2, kind="x", target=timedelta(hours=5))

    result = clock_tick()

    due.refresh_from_db()
    later.refresh_from_db()
    assert result["timers"] == 1
    assert due.state == Timer.State.BREACHED
    assert later.state == Timer.State.RUNNING


@pytest.mark.django_db
def test_housekeeping_drops_only_expired_idempotency_keys() -> None:
    old = IdempotencyKey.objects.create(principal="p", key="old", fingerprint="f")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    IdempotencyKey.objects.create(principal="p", key="new", fingerprint="f")

    housekeeping()

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_the_clock_loop_stops_when_asked() -> None:
    past = timezone.now() - timedelta(hours=1)
    timer = timer_start(
        subject_type="none", subject_id=1, kind="x", target=timedelta(minutes=1), start=past
    )
    stop = threading.Event()
    thread = threading.Thread(target=clock_run, kwargs={"stop": stop, "interval": 0.05})

    thread.start()
    for _ in range(200):
        timer.refresh_from_db()
        if timer.state == Timer.State.BREACHED:
            break
        stop.wait(0.05)
    stop.set()
    thread.join(timeout=10)

    assert timer.state == Timer.State.BREACHED
    assert not thread.is_alive()
