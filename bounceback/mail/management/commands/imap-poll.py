"""`bounceback imap-poll`: read the configured IMAP mailbox from the command line.

For cron-style set-ups without a worker, and for trying a configuration: a
refused login or a wrong setting is one line on stderr and exit status 1.
"""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bounceback.mail.imap import ImapMailbox, imap_poll


class Command(BaseCommand):
    help = (
        "Read new mail from the IMAP mailbox in BOUNCEBACK_IMAP_* into intake. "
        "With --once, read once and exit (for cron or to test the settings); without it, "
        "poll every BOUNCEBACK_IMAP_POLL_SECONDS until SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Poll once and exit.")
        parser.add_argument(
            "--limit",
            type=int,
            default=500,
            help="At most this many messages per poll (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = ImapMailbox.from_settings()
        if mailbox is None:
            raise CommandError(
                "IMAP polling is off: set BOUNCEBACK_IMAP_HOST, BOUNCEBACK_IMAP_USER and "
                "BOUNCEBACK_IMAP_PASSWORD"
            )
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        if options["once"]:
            self._poll(mailbox, options["limit"], fail=True)
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(
            f"Polling {mailbox.name} every {settings.BOUNCEBACK_IMAP_POLL_SECONDS} s; "
            "Ctrl-C to stop."
        )
        while not stop.is_set():
            more = self._poll(mailbox, options["limit"], fail=False)
            if not more:
                stop.wait(settings.BOUNCEBACK_IMAP_POLL_SECONDS)

    def _poll(self, mailbox: ImapMailbox, limit: int, *, fail: bool) -> bool:
        result = imap_poll(mailbox=mailbox, limit=limit)
        if result.error:
            if fail:
                raise CommandError(f"{mailbox.name}: {result.error}")
            self.stderr.write(f"{mailbox.name}: {result.error}")
            return False
        self.stdout.write(result.summary())
        return result.more
