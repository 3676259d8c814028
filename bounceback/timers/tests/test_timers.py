from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bounceback.timers import handlers
from bounceback.timers.models import Timer
from bounceback.timers.services import (
    timer_meet,
    timer_pause,
    timer_resume,
    timer_start,
    timers_fire_due,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def events():  # type: ignore[no-untyped-def]
    seen: list[tuple[int, str, int]] = []

    def record(timer: Timer, event: str) -> None:
        seen.append((timer.subject_id, event, timer.escalation_level))

    handlers.register("test", record)
    yield seen
    handlers._HANDLERS.pop("test", None)


def _start(**kwargs: object) -> Timer:
    defaults: dict = {"subject_type": "test", "subject_id": 1, "kind": "fix", "start": T0}
    defaults.update(kwargs)
    return timer_start(target=timedelta(minutes=20), **defaults)


def test_a_timer_warns_at_75_percent_then_breaches_then_escalates(events) -> None:
    timer = _start()

    fired = [timers_fire_due(now=T0 + timedelta(minutes=m)) for m in (10, 15, 20, 39, 40, 60)]

    timer.refresh_from_db()
    assert fired == [0, 1, 1, 0, 1, 1]
    assert events == [(1, "warn", 0), (1, "breach", 1), (1, "escalate", 2), (1, "escalate", 3)]
    assert timer.state == Timer.State.BREACHED
    assert timer.next_fire_at is None


def test_firing_twice_at_the_same_moment_fires_nothing_twice(events) -> None:
    _start()

    timers_fire_due(now=T0 + timedelta(minutes=21))
    timers_fire_due(now=T0 + timedelta(minutes=21))

    assert events == [(1, "breach", 1)]


def test_a_worker_that_was_down_breaches_without_a_stale_warning(events) -> None:
    _start()

    timers_fire_due(now=T0 + timedelta(minutes=25))

    assert [e[1] for e in events] == ["breach"]


def test_meeting_the_target_stops_everything(events) -> None:
    timer = _start()

    timer_meet(timer=timer, at=T0 + timedelta(minutes=5))
    timers_fire_due(now=T0 + timedelta(hours=5))

    timer.refresh_from_db()
    assert events == []
    assert timer.state == Timer.State.MET


def test_a_paused_timer_resumes_with_the_time_it_had_left(events) -> None:
    timer = _start()

    timer_pause(timer=timer, at=T0 + timedelta(minutes=5))
    timers_fire_due(now=T0 + timedelta(hours=3))
    timer_resume(timer=timer, at=T0 + timedelta(hours=3))

    timer.refresh_from_db()
    assert events == []
    assert timer.due_at == T0 + timedelta(hours=3, minutes=15)
    assert timer.warn_at == T0 + timedelta(hours=3, minutes=10)


def test_a_failing_handler_does_not_stop_other_timers(events) -> None:
    def explode(timer: Timer, event: str) -> None:
        raise RuntimeError("mail server on fire")

    handlers.register("broken", explode)
    try:
        broken = _start(subject_type="broken", subject_id=9)
        _start(subject_id=2)

        timers_fire_due(now=T0 + timedelta(minutes=21))

        broken.refresh_from_db()
        assert events == [(2, "breach", 1)]
        # The broken one stays unfired and is retried later, with the error kept.
        assert broken.state == Timer.State.RUNNING
        assert broken.fire_attempts == 1
        assert "mail server on fire" in broken.last_error
        assert broken.next_fire_at > T0 + timedelta(minutes=21)
    finally:
        handlers._HANDLERS.pop("broken", None)


def test_many_due_timers_are_all_fired_in_batches(events) -> None:
    for i in range(25):
        _start(subject_id=i)

    fired = timers_fire_due(now=T0 + timedelta(minutes=30), batch=7)

    assert fired == 25
    assert Timer.objects.filter(state=Timer.State.BREACHED).count() == 25
