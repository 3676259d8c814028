"""The SMTP receiver (`bounceback smtpd`): for sites whose mail server pipes mail in.

An aiosmtpd server that hands every message to `email_receive`. What it
promises the sending mail server:

- 250 only once the message is stored (committed). A database problem is a
  451, so the sender keeps the message and tries again; `email_receive`'s
  dedupe makes a retry of a message that was in fact stored harmless.
- A recipient outside BOUNCEBACK_SMTPD_DOMAINS (when set) is refused with 550,
  so the receiver is not an open relay into intake.
- A message over the intake size limit (BOUNCEBACK_MAIL_MAX_BYTES) is refused
  with 552, and announced in EHLO's SIZE so a polite sender never sends it.

The database work runs on one thread beside the event loop: Django's ORM is
synchronous, and one thread means one database connection, closed when the
server stops. SQLite serialises writes anyway; on PostgreSQL one thread stores
several hundred messages a second, far beyond a pipe from a mail server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

SOURCE = "smtp"


def smtpd_max_bytes() -> int:
    return int(getattr(settings, "BOUNCEBACK_MAIL_MAX_BYTES", 25 * 1024 * 1024))


def _store(raw: bytes) -> int:
    from bounceback.mail.services import email_receive

    close_old_connections()
    try:
        return email_receive(raw=raw, source=SOURCE).pk
    finally:
        close_old_connections()


class IntakeHandler:
    """aiosmtpd handler: refuse unknown domains, store DATA, answer after the commit."""

    def __init__(self, *, domains: Iterable[str], executor: ThreadPoolExecutor) -> None:
        self.domains = {domain.lower().lstrip("@") for domain in domains if domain.strip()}
        self.executor = executor

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.domains and domain not in self.domains:
            return f"550 5.7.1 <{address}>: this server does not accept mail for {domain}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            email_id = await loop.run_in_executor(self.executor, _store, raw)
        except Exception:
            # Whatever went wrong, the sender still has the message: a temporary
            # failure makes it try again later instead of bouncing it.
            logger.exception("smtpd: could not store a message from %s", envelope.mail_from)
            return "451 4.3.0 Could not store the message just now; try again later"
        logger.info("smtpd: stored message %s from %s", email_id, envelope.mail_from)
        return f"250 2.0.0 Stored as {email_id}"


class IntakeServer:
    """The listening server and its storage thread; `start()`, then `stop()`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        domains: Iterable[str] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtpd-store")
        self.domains = list(settings.BOUNCEBACK_SMTPD_DOMAINS if domains is None else domains)
        self.max_bytes = max_bytes or smtpd_max_bytes()
        self.handler = IntakeHandler(domains=self.domains, executor=self.executor)
        self.controller = Controller(
            self.handler,
            hostname=host,
            port=settings.BOUNCEBACK_SMTPD_PORT if port is None else port,
            data_size_limit=self.max_bytes,
            ident="Bounceback smtpd",
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.controller.hostname, self.controller.port

    def describe(self) -> str:
        host, port = self.address
        accepted = ", ".join(sorted(self.handler.domains)) or "any domain"
        return (
            f"listening on {host}:{port}; accepting mail for {accepted}; "
            f"at most {self.max_bytes // (1024 * 1024)} MiB per message"
        )

    def start(self) -> None:
        # aiosmtpd logs every SMTP command at INFO; our own log line per stored
        # message is what an operator needs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        # Let a message being stored finish, then close that thread's connection.
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown(wait=True)


def smtpd_serve(
    *,
    stop: threading.Event,
    host: str = "127.0.0.1",
    port: int | None = None,
    domains: Iterable[str] | None = None,
    on_ready: Any = None,
) -> None:
    """Serve until `stop` is set (the command sets it on SIGTERM or Ctrl-C)."""
    server = IntakeServer(host=host, port=port, domains=domains)
    server.start()
    try:
        if on_ready is not None:
            on_ready(server)
        stop.wait()
    finally:
        server.stop()
