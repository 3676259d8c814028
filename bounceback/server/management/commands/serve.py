"""`bounceback serve`: the web server and a worker together, for one machine."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from bounceback.server import options
from bounceback.server.management.commands.web import add_address_arguments
from bounceback.server.supervisor import Child, Supervisor


def check_database_ready() -> None:
    """Refuse to start on a database that is unreachable or behind the code."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise CommandError(f"Cannot use the database: {exc}") from None
    finally:
        # The children open their own connections; this process needs none.
        connection.close()
    if pending:
        raise CommandError(
            f"The database is missing {len(pending)} migration(s). Run `bounceback migrate` first."
        )


class Command(BaseCommand):
    help = (
        "Run the web server and a background worker together as child processes. "
        "Ctrl-C or SIGTERM stops both cleanly; if either dies, the other is stopped "
        "and serve exits non-zero. Web options come from the same environment "
        "variables as `bounceback web` (HOST, PORT, WEB_CONCURRENCY, WEB_THREADS, ...)."
    )
    # Each child runs the system checks itself.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_address_arguments(parser)

    def handle(self, *, host: str | None, port: int | None, verbosity: int, **_: Any) -> None:
        host = host or options.default_host()
        port = port or options.default_port()
        check_database_ready()

        command = [sys.executable, "-m", "bounceback.cli"]
        common = ["--verbosity", str(verbosity)]
        children = [Child("web", [*command, "web", "--host", host, "--port", str(port), *common])]
        # The immediate backend runs tasks inside the web process: no worker to start.
        if settings.TASK_BACKEND != "immediate":
            children.append(Child("worker", [*command, "worker", *common]))

        # Give the web server its full graceful timeout to finish open requests.
        supervisor = Supervisor(
            children, stop_timeout=options.default_timeout() + 10, err=sys.stderr
        )
        supervisor.start()
        pids = ", ".join(f"{child.name} pid {child.pid}" for child in children)
        self.stdout.write(
            f"Bounceback is starting at {options.browser_url(host, port)} ({pids}). "
            "Press Ctrl-C to stop.",
        )
        self.stdout.flush()
        status = supervisor.wait()
        if status != 0:
            # The supervisor has already said which process failed and how.
            sys.exit(status)
        self.stdout.write("Bounceback stopped.")
