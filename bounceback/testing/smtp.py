"""A real SMTP server on loopback for tests: counts what it accepts, misbehaves on request.

Tests use it to prove what the outbox does with a real mail server: every
message delivered once (counted by Message-ID), temporary refusals (451)
retried, permanent ones (550, 554) failed at once, a server that goes away and
comes back, and a slow answer to the end of DATA.
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

# aiosmtpd logs every connection at INFO; tests care about what arrived.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Behaviour:
    """How the server answers; change it while it runs."""

    rcpt: str = "250 OK"
    data: str = "250 Message accepted"
    data_delay: float = 0.0


@dataclass
class Received:
    message_ids: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self) -> int:
        with self.lock:
            return sum(self.message_ids.values())

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {mid: n for mid, n in self.message_ids.items() if n > 1}


class _Handler:
    def __init__(self, behaviour: Behaviour, received: Received) -> None:
        self.behaviour = behaviour
        self.received = received

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        answer = self.behaviour.rcpt
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        else:
            with self.received.lock:
                self.received.refused += 1
        return answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.behaviour.data_delay:
            await asyncio.sleep(self.behaviour.data_delay)
        answer = self.behaviour.data
        if not answer.startswith("250"):
            with self.received.lock:
                self.received.refused += 1
            return answer
        parsed = email.message_from_bytes(envelope.content)
        with self.received.lock:
            self.received.message_ids[str(parsed.get("Message-ID", "")).strip()] += 1
        return answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestSmtpServer:
    """aiosmtpd in a thread on 127.0.0.1:<port>; `stop()` and `start()` again on the same port."""

    __test__ = False  # not a pytest test class

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.behaviour = Behaviour()
        self.received = Received()
        self._controller: Controller | None = None

    def start(self) -> TestSmtpServer:
        deadline = time.monotonic() + 10
        while True:
            try:
                self._controller = Controller(
                    _Handler(self.behaviour, self.received),
                    hostname="127.0.0.1",
                    port=self.port,
                    ready_timeout=10,
                )
                self._controller.start()
                return self
            except (OSError, RuntimeError):
                # The port may linger for a moment after a stop.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        """Django settings (and environment values) that send mail here."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": 5,
        }

    def environment(self) -> dict[str, str]:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_TIMEOUT": "5",
        }
