"""The SMTP receiver, sent to by Python's smtplib like any mail server would.

The server stores on its own thread (its own database connection), so these
tests commit for real (transactional_db).
"""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import OperationalError

from bounceback.cases.models import Case
from bounceback.mail import services
from bounceback.mail.models import InboundEmail
from bounceback.mail.smtpd import IntakeServer
from bounceback.mail.tests.conftest import make_message
from bounceback.server.testing import (
    CLI,
    REPO_ROOT,
    free_port,
    no_leftover_processes,
    process_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "dana@example.net"


@pytest.fixture
def smtpd() -> Iterator[IntakeServer]:
    server = IntakeServer(
        host="127.0.0.1", port=free_port(), domains=["bounceback.test"], max_bytes=200_000
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _send(server: IntakeServer, raw: bytes, to: str = "care@bounceback.test") -> None:
    host, port = server.address
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail(SENDER, [to], raw)


def test_given_a_complaint_when_sent_over_smtp_then_it_is_stored_and_opens_a_case(
    smtpd: IntakeServer,
) -> None:
    _send(smtpd, make_message(sender=f"Dana Whitfield <{SENDER}>"))

    email = InboundEmail.objects.get()
    assert (email.source, email.from_address, email.state) == (
        "smtp",
        SENDER,
        InboundEmail.State.ACCEPTED,
    )
    assert Case.objects.get(pk=email.case_id).customer.primary_email == SENDER


def test_given_the_same_message_twice_when_sent_then_it_is_stored_once(
    smtpd: IntakeServer,
) -> None:
    raw = make_message(sender=SENDER)

    _send(smtpd, raw)
    _send(smtpd, raw)

    assert InboundEmail.objects.count() == 1
    assert Case.objects.count() == 1


def test_given_a_message_over_the_size_limit_when_sent_then_552_and_nothing_stored(
    smtpd: IntakeServer,
) -> None:
    big = make_message(sender=SENDER, body=("y" * 75 + "\n") * 3000)

    with pytest.raises(smtplib.SMTPResponseException) as refused:
        _send(smtpd, big)

    assert refused.value.smtp_code == 552
    assert InboundEmail.objects.count() == 0


def test_given_a_recipient_in_another_domain_when_sent_then_550_and_nothing_stored(
    smtpd: IntakeServer,
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(smtpd, make_message(sender=SENDER), to="someone@elsewhere.example")

    assert refused.value.recipients["someone@elsewhere.example"][0] == 550
    assert InboundEmail.objects.count() == 0


def test_given_the_database_fails_when_sent_then_451_so_the_sender_retries(
    smtpd: IntakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(**kwargs: object) -> InboundEmail:
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "email_receive", down)

    with pytest.raises(smtplib.SMTPDataError) as failed:
        _send(smtpd, make_message(sender=SENDER))

    assert failed.value.smtp_code == 451


def _wait_for_smtp(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"smtpd exited early: {process.communicate()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(100).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("smtpd did not answer")


def test_given_bounceback_smtpd_running_when_mail_arrives_and_sigterm_then_stored_and_stopped(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = process_env(data_dir=tmp_path, BOUNCEBACK_SMTPD_DOMAINS="bounceback.test")
    with no_leftover_processes(env):
        process = subprocess.Popen(
            [*CLI, "smtpd", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_smtp(port, process)
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail(SENDER, ["care@bounceback.test"], make_message(sender=SENDER))
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert f"listening on 127.0.0.1:{port}; accepting mail for bounceback.test" in out
    assert "stopped" in out
    assert InboundEmail.objects.get().source == "smtp"
