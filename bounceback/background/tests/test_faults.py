"""Background work under real faults: workers killed, a mail server refusing or gone,
database connections cut. Real worker (and web) processes over the test database,
a real SMTP server on loopback; nothing mocked.

Each test runs on the suite's configured backends (SQLite with the database task
backend, or PostgreSQL with Redis). On PostgreSQL the kill tests also run scaled
out: two web processes taking the writes and two workers sharing the work.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from bounceback.apitokens.services import token_create
from bounceback.background.models import Job
from bounceback.breakdowns.models import AffectedCustomer, Breakdown
from bounceback.breakdowns.services import breakdown_confirm_outreach, outreach_job_key
from bounceback.cases.models import Case
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_enqueue
from bounceback.server.testing import (
    CLI,
    REPO_ROOT,
    clear_redis_queue,
    free_port,
    kill_marked,
    process_env,
    wait_for_http,
)
from bounceback.sites.services import site_create
from bounceback.testing.breakdowns_factories import make_booked_customers_in_bulk, make_breakdown
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.smtp import TestSmtpServer

LEASE_SECONDS = 3
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
SCALES = [1, pytest.param(2, marks=pytest.mark.postgres)] if ON_POSTGRES else [1]


@pytest.fixture
def clean_queue(transactional_db: None) -> Iterator[None]:
    if settings.TASK_BACKEND == "redis":
        clear_redis_queue()
    yield
    if settings.TASK_BACKEND == "redis":
        clear_redis_queue()


def wait_until(what: str, condition: Callable[[], bool], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


@dataclass
class Fleet:
    """Worker and web processes over the test database; every one is killed at the end."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    web_urls: list[str] = field(default_factory=list)
    kills: int = 0

    def _start(self, *args: str, name: str) -> subprocess.Popen[str]:
        log = (self.logs / f"{name}-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(
            [*CLI, *args],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen[str]:
        return self._start("worker", name="worker")

    def web(self) -> str:
        port = free_port()
        process = self._start("web", "--port", str(port), name="web")
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", process=process)
        self.web_urls.append(url)
        return url

    def kill(self, process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.kills += 1

    def live_workers(self) -> list[subprocess.Popen[str]]:
        return [p for p in self.processes if p.poll() is None and "worker" in str(p.args)]

    def output(self) -> str:
        return "\n".join(path.read_text()[-3000:] for path in sorted(self.logs.glob("*.log")))


@pytest.fixture
def fleet(tmp_path: Path, clean_queue: None) -> Iterator[Callable[..., Fleet]]:
    made: list[Fleet] = []

    def make(**extra: str) -> Fleet:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        logs = tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        env = process_env(
            data_dir=data_dir,
            BOUNCEBACK_LEASE_SECONDS=str(LEASE_SECONDS),
            BOUNCEBACK_RETRY_SECONDS="1",
            BOUNCEBACK_OUTREACH_PER_MINUTE="email=600000",
            WEB_CONCURRENCY="1",
            WEB_THREADS="4",
            LOG_LEVEL="WARNING",
            **extra,
        )
        made.append(Fleet(env=env, logs=logs))
        return made[-1]

    yield make
    for each in made:
        kill_marked(each.env["BOUNCEBACK_TEST_PROCESS"])


@pytest.fixture
def smtp() -> Iterator[TestSmtpServer]:
    server = TestSmtpServer().start()
    yield server
    server.stop()


def queue_length() -> int:
    """Tasks waiting in the configured backend."""
    if settings.TASK_BACKEND == "redis":
        import django_rq

        return int(django_rq.get_queue("default").count)
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()


def running_task_rows() -> int:
    """Database-backend task rows marked RUNNING (0 on Redis, which keeps its own registry)."""
    if settings.TASK_BACKEND == "redis":
        return 0
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count()


def api_post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback test server)
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        return dict(json.loads(answer.read()))


# --- Deliveries -----------------------------------------------------------------------------


def _sent() -> int:
    return OutboundMessage.objects.filter(state=OutboundMessage.State.SENT).count()


def _queue_messages_directly(count: int) -> list[str]:
    ids = []
    for n in range(count):
        customer = CustomerFactory(email=f"guest{n}@example.com")
        message = outbox_enqueue(
            channel="email",
            to_address=f"guest{n}@example.com",
            subject="We're sorry",
            body_text="We are sorry the hall went dark; your tickets are refunded.",
            customer=customer,
        )
        ids.append(message.message_id)
    return ids


def _queue_messages_through_the_api(fleet: Fleet, count: int) -> list[str]:
    """Open a case and send its apology for each customer, alternating between web nodes."""
    _, token = token_create(name="faults", scopes=["cases:write"], actor=None)
    for n in range(count):
        customer = CustomerFactory(email=f"guest{n}@example.com")
        url = fleet.web_urls[n % len(fleet.web_urls)]
        case = api_post(
            f"{url}/api/cases/", token, {"customer_id": customer.pk, "summary": "Hall went dark"}
        )
        api_post(
            f"{url}/api/cases/{case['id']}/apologise",
            token,
            {
                "body": "I'm sorry: our generator failed and the hall went dark during your "
                "daughter's dance. I have refunded both tickets today, and we are testing "
                "the generator every week from now on so it cannot happen again.",
                "override_reason": "tested apology",
            },
        )
    return list(OutboundMessage.objects.values_list("message_id", flat=True))


@pytest.mark.parametrize("scale", SCALES)
def test_workers_killed_mid_delivery_lose_no_message(
    fleet: Callable[..., Fleet], smtp: TestSmtpServer, scale: int
) -> None:
    # Given a few hundred messages to send, a mail server that takes a moment per
    # message, and `scale` workers (and, scaled out, web nodes taking the writes)
    smtp.behaviour.data_delay = 0.01
    crew = fleet(**smtp.environment())
    if scale > 1:
        for _ in range(scale):
            crew.web()
        message_ids = _queue_messages_through_the_api(crew, 150)
    else:
        message_ids = _queue_messages_directly(300)
    total = len(message_ids)
    for _ in range(scale):
        crew.worker()

    # When a worker is killed outright three times while sending, and replaced
    rng = random.Random(7)
    for round_ in range(3):
        target = total * (round_ + 1) // 5 + rng.randrange(10)
        wait_until(f"{target} messages are sent", lambda t=target: _sent() >= t, timeout=90)
        crew.kill(rng.choice(crew.live_workers()))
        crew.worker()

    # Then every message arrives, each row says sent, and the only repeats are
    # sends a killed worker had in flight (at most one per lane thread per kill)
    wait_until("every message is sent", lambda: _sent() == total, timeout=120)
    assert set(smtp.received.message_ids) == set(message_ids), crew.output()
    duplicates = smtp.received.duplicates()
    assert sum(n - 1 for n in duplicates.values()) <= crew.kills * 2, duplicates
    wait_until("no task row is left running", lambda: running_task_rows() == 0, timeout=30)


def test_a_mail_server_refusing_then_gone_then_back_gets_every_message_once(
    fleet: Callable[..., Fleet], smtp: TestSmtpServer
) -> None:
    # Given a mail server that answers 451 to every recipient for a while
    smtp.behaviour.rcpt = "451 4.7.1 Greylisted, please try again later"
    crew = fleet(**smtp.environment())
    message_ids = _queue_messages_directly(50)
    crew.worker()
    wait_until("every message was refused once", lambda: smtp.received.refused >= 50)
    assert not OutboundMessage.objects.filter(state=OutboundMessage.State.FAILED).exists()

    # When it goes away altogether, then comes back accepting mail
    smtp.stop()
    time.sleep(3)
    smtp.behaviour.rcpt = "250 OK"
    smtp.start()

    # Then every message is delivered exactly once, none failed
    wait_until("every message is sent", lambda: _sent() == 50, timeout=120)
    assert dict(smtp.received.message_ids) == dict.fromkeys(message_ids, 1), crew.output()
    assert OutboundMessage.objects.filter(attempts__gte=2).count() == 50


def test_a_permanent_refusal_fails_at_once_and_shows_in_failed_deliveries(
    fleet: Callable[..., Fleet], smtp: TestSmtpServer
) -> None:
    smtp.behaviour.data = "554 5.6.0 Message content refused"
    crew = fleet(**smtp.environment())
    _queue_messages_directly(5)
    crew.worker()

    wait_until(
        "every message failed",
        lambda: OutboundMessage.objects.filter(state=OutboundMessage.State.FAILED).count() == 5,
    )
    assert set(OutboundMessage.objects.values_list("attempts", flat=True)) == {1}

    from bounceback.background.selectors import failed_deliveries

    [outbox] = [group for group in failed_deliveries() if group.lane.name == "outbox"]
    assert outbox.total == 5
    assert all("554" in item.error for item in outbox.items)


# --- A breakdown's outreach ------------------------------------------------------------------


def _outreach(customers: int) -> Breakdown:
    lead = UserFactory(role="lead")
    site = site_create(code="grand-hall", name="Grand Hall")
    make_booked_customers_in_bulk(customers, site=site)
    breakdown = make_breakdown(actor=lead, site=site)
    assert breakdown.affected_count == customers
    return breakdown


def _contacted(breakdown: Breakdown) -> int:
    return (
        AffectedCustomer.objects.filter(breakdown=breakdown)
        .exclude(state=AffectedCustomer.State.PENDING)
        .count()
    )


def _assert_everyone_contacted_once(breakdown: Breakdown, customers: int) -> None:
    assert _contacted(breakdown) == customers
    cases = Case.objects.filter(breakdown=breakdown)
    assert cases.count() == customers
    assert not cases.values("customer").annotate(n=Count("id")).filter(n__gt=1).exists()
    messages = OutboundMessage.objects.filter(batch=f"bd-{breakdown.pk}-outreach")
    assert messages.count() == customers
    assert not messages.values("customer").annotate(n=Count("id")).filter(n__gt=1).exists()


@pytest.mark.parametrize("scale", SCALES)
def test_an_outreach_survives_its_workers_being_killed_twice(
    fleet: Callable[..., Fleet], scale: int
) -> None:
    customers = 5000
    breakdown = _outreach(customers)
    crew = fleet(
        BOUNCEBACK_OUTREACH_CHUNK="250",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    if scale > 1:
        for _ in range(scale):
            crew.web()
        _, token = token_create(name="faults", scopes=["breakdowns:write"], actor=None)
        api_post(f"{crew.web_urls[-1]}/api/breakdowns/{breakdown.pk}/confirm", token, {})
    else:
        breakdown_confirm_outreach(breakdown=breakdown, actor=breakdown.declared_by)
    for _ in range(scale):
        crew.worker()

    # When the worker running it is killed, and again after it has resumed
    for share in (0.2, 0.6):
        target = int(customers * share)
        wait_until(
            f"{target} customers contacted",
            lambda t=target: _contacted(breakdown) >= t,
            timeout=120,
        )
        job = Job.objects.get(key=outreach_job_key(breakdown.pk))
        owner = job.lease_owner
        victims = [p for p in crew.live_workers() if owner.endswith(f"-{p.pid}")]
        crew.kill(victims[0] if victims else crew.live_workers()[0])
        crew.worker()

    # Then, with nobody pressing anything, every customer is contacted exactly once
    wait_until(
        "the outreach is done",
        lambda: Job.objects.filter(
            key=outreach_job_key(breakdown.pk), state=Job.State.DONE
        ).exists(),
        timeout=180,
    )
    _assert_everyone_contacted_once(breakdown, customers)
    # The killed workers' task rows are marked failed, not left "running".
    wait_until("no task row is left running", lambda: running_task_rows() == 0, timeout=30)


def test_an_outreach_resumes_after_its_database_connections_are_cut(
    fleet: Callable[..., Fleet],
) -> None:
    customers = 3000
    breakdown = _outreach(customers)
    crew = fleet(
        BOUNCEBACK_OUTREACH_CHUNK="200",
        BOUNCEBACK_SQLITE_TIMEOUT="2",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    breakdown_confirm_outreach(breakdown=breakdown, actor=breakdown.declared_by)
    crew.worker()
    wait_until("the outreach is under way", lambda: _contacted(breakdown) >= 400)

    # When the database drops every other connection (PostgreSQL), or is locked
    # solid for longer than a writer will wait (SQLite), three times
    for _ in range(3):
        _cut_database_connections(seconds=4)
        time.sleep(1)

    wait_until(
        "the outreach is done",
        lambda: Job.objects.filter(
            key=outreach_job_key(breakdown.pk), state=Job.State.DONE
        ).exists(),
        timeout=180,
    )
    _assert_everyone_contacted_once(breakdown, customers)
    assert crew.live_workers(), "the worker died with its connections:\n" + crew.output()


def _cut_database_connections(*, seconds: float) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        time.sleep(seconds)
        return
    # SQLite has no connections to cut: take its write lock for longer than a
    # writer waits, which fails every write the worker tries meanwhile.
    import sqlite3

    db = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
    try:
        db.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
    finally:
        db.rollback()
        db.close()


def test_the_queue_stays_short_during_a_large_outreach(fleet: Callable[..., Fleet]) -> None:
    customers = 20000
    breakdown = _outreach(customers)
    crew = fleet(
        BOUNCEBACK_OUTREACH_CHUNK="2000",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    breakdown_confirm_outreach(breakdown=breakdown, actor=breakdown.declared_by)
    crew.worker()
    crew.worker()
    longest = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal longest
        try:
            while not stop.is_set():
                longest = max(longest, queue_length())
                stop.wait(0.1)
        finally:
            connection.close()

    sent = OutboundMessage.objects.filter(
        batch=f"bd-{breakdown.pk}-outreach", state=OutboundMessage.State.SENT
    )
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        # While every customer is contacted and the first thousands of messages leave.
        wait_until(
            "the outreach is done",
            lambda: Job.objects.filter(
                key=outreach_job_key(breakdown.pk), state=Job.State.DONE
            ).exists(),
            timeout=240,
        )
        wait_until("messages are leaving", lambda: sent.count() >= 2000, timeout=120)
    finally:
        stop.set()
        watcher.join()

    # The queue holds wake-ups for jobs, never one task per message.
    assert longest <= 5, f"{longest} tasks waited at once"
    _assert_everyone_contacted_once(breakdown, customers)
