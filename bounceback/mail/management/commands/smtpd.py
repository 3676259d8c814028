"""`bounceback smtpd`: receive mail over SMTP into intake (see bounceback/mail/smtpd.py)."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bounceback.mail.smtpd import IntakeServer, smtpd_serve


class Command(BaseCommand):
    help = (
        "Receive email over SMTP into intake, for a mail server that relays or pipes "
        "customer mail to Bounceback. Answers 250 only once a message is stored. "
        "Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)."
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help=f"Port (default BOUNCEBACK_SMTPD_PORT, now {settings.BOUNCEBACK_SMTPD_PORT}).",
        )
        parser.add_argument(
            "--domains",
            default=None,
            help="Accepted recipient domains, comma separated (default BOUNCEBACK_SMTPD_DOMAINS; "
            "empty accepts any).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if port is not None and not 0 < port < 65536:
            raise CommandError("--port must be a port number (1-65535)")
        domains = None
        if options["domains"] is not None:
            domains = [d.strip() for d in options["domains"].split(",") if d.strip()]
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

        def ready(server: IntakeServer) -> None:
            self.stdout.write(f"bounceback smtpd: {server.describe()}")
            self.stdout.flush()

        try:
            smtpd_serve(stop=stop, host=options["host"], port=port, domains=domains, on_ready=ready)
        except OSError as exc:
            # Most often the port is taken or needs privileges (below 1024).
            where = f"{options['host']}:{port or settings.BOUNCEBACK_SMTPD_PORT}"
            raise CommandError(f"cannot listen on {where}: {exc}") from None
        self.stdout.write("bounceback smtpd: stopped")
