"""`web` and `worker` options, checked without starting servers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError

from bounceback.server import options
from bounceback.server.management.commands import web


def test_web_reads_host_port_and_concurrency_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(web.DjangoApplication, "run", lambda app: started.append(app.config))
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 (nothing is bound)
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("WEB_THREADS", "5")

    call_command("web")
    call_command("web", "--port", "9000", "--host", "::1", "--threads", "2")

    assert started[0]["bind"] == ["0.0.0.0:9123"]
    assert (started[0]["workers"], started[0]["threads"]) == (3, 5)
    assert started[0]["worker_class"] == "gthread"
    assert started[1]["bind"] == ["[::1]:9000"]
    assert (started[1]["workers"], started[1]["threads"]) == (3, 2)


def test_web_rejects_a_bad_port_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")

    with pytest.raises(CommandError, match="PORT must be a whole number"):
        call_command("web")


def test_web_defaults_suit_a_small_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "WEB_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 1)

    assert options.default_host() == "127.0.0.1"
    assert options.default_port() == 8000
    assert options.default_workers() == 2
    assert options.default_threads() == 4


def test_the_worker_has_nothing_to_do_with_the_immediate_backend(settings: Any) -> None:
    settings.TASK_BACKEND = "immediate"

    with pytest.raises(CommandError, match="nothing for a worker to do"):
        call_command("worker", "--burst")


@pytest.mark.parametrize(
    ("backend", "command", "expected"),
    [
        ("database", "db_worker", {"queues": ["default", "mail"], "burst": True}),
        (
            "redis",
            "rqworker",
            {"job_class": "django_tasks_rq.Job", "with_scheduler": True, "burst": True},
        ),
    ],
)
def test_the_worker_runs_the_configured_backends_own_worker(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    command: str,
    expected: dict[str, Any],
) -> None:
    calls: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []
    monkeypatch.setattr(
        "bounceback.server.management.commands.worker.call_command",
        lambda name, *args, **kwargs: calls.append((name, args, kwargs)),
    )
    monkeypatch.setattr(
        "bounceback.server.management.commands.worker.run_database_worker",
        lambda **kwargs: calls.append(("db_worker", (), kwargs)),
    )
    # It would otherwise change how this test process forks from now on.
    monkeypatch.setattr(
        "bounceback.server.management.commands.worker.forked_children_die_with_this_process",
        lambda: None,
    )
    settings.TASK_BACKEND = backend

    call_command("worker", "--burst", "--no-clock", "--queue", "default", "--queue", "mail")

    [(name, args, kwargs)] = calls
    assert name == command
    assert kwargs.items() >= expected.items()
    if backend == "redis":
        assert args == ("default", "mail")


@pytest.fixture
def worker_calls(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[str]:
    """What the worker command did, in order, with the backend worker and clock stubbed."""
    settings.TASK_BACKEND = "database"
    calls: list[str] = []
    monkeypatch.setattr(
        "bounceback.server.management.commands.worker.call_command",
        lambda name, *args, **kwargs: calls.append(name),
    )
    monkeypatch.setattr(
        "bounceback.server.management.commands.worker.run_database_worker",
        lambda **kwargs: calls.append("db_worker"),
    )
    monkeypatch.setattr("bounceback.timers.clock.clock_tick", lambda: calls.append("tick"))
    monkeypatch.setattr(
        "bounceback.background.deliveries.deliveries_run_due",
        lambda: calls.append("deliveries"),
    )
    monkeypatch.setattr(
        "bounceback.background.deliveries.lanes_start",
        lambda *, stop: calls.append("lanes started") or [],
    )

    def clock_run(*, stop: threading.Event) -> None:
        calls.append("clock started")
        stop.wait(timeout=30)
        calls.append("clock stopped" if stop.is_set() else "clock never told to stop")

    monkeypatch.setattr("bounceback.timers.clock.clock_run", clock_run)
    return calls


def test_a_burst_worker_fires_due_timers_once_before_draining_the_queue(
    worker_calls: list[str],
) -> None:
    call_command("worker", "--burst")

    # Timers first (they hand work over), then the tasks, then what is due to send.
    assert worker_calls == ["tick", "db_worker", "deliveries"]


def test_a_long_running_worker_runs_the_clock_beside_it_and_stops_it_on_exit(
    worker_calls: list[str],
) -> None:
    call_command("worker")

    assert worker_calls[-1] == "clock stopped"
    assert "db_worker" in worker_calls
    assert "lanes started" in worker_calls


def test_the_clock_can_be_left_to_other_workers(worker_calls: list[str]) -> None:
    call_command("worker", "--no-clock")
    call_command("worker", "--burst", "--no-clock")

    assert worker_calls == ["db_worker", "db_worker"]


def test_a_failing_tick_does_not_stop_a_burst_worker_draining_the_queue(
    worker_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_tick() -> None:
        raise DatabaseError("database went away")

    monkeypatch.setattr("bounceback.timers.clock.clock_tick", broken_tick)

    call_command("worker", "--burst")

    assert worker_calls == ["db_worker", "deliveries"]
