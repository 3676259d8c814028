"""`bounceback web`: the web server (gunicorn, threaded workers)."""

from __future__ import annotations

from argparse import ArgumentParser, BooleanOptionalAction
from typing import Any

from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication

from bounceback.server import options


class DjangoApplication(BaseApplication):
    """Gunicorn configured from a dict instead of its own command line and config file."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.config.items():
            # Newer gunicorn settings are skipped on older releases rather than failing.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from bounceback.config.wsgi import application

        return application


def add_address_arguments(parser: ArgumentParser) -> None:
    # Defaults are resolved in handle() so a bad HOST/PORT in the environment is
    # reported as a CommandError naming the variable, not as a parser crash.
    parser.add_argument(
        "--host",
        help=f"Address to listen on (env HOST, default {options.DEFAULT_HOST}; "
        "0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=options.port_number,
        help=f"Port to listen on (env PORT, default {options.DEFAULT_PORT})",
    )


class Command(BaseCommand):
    help = (
        "Run the web server: gunicorn with threaded workers serving Bounceback. "
        "Defaults come from HOST, PORT, WEB_CONCURRENCY, WEB_THREADS, WEB_TIMEOUT "
        "and WEB_ACCESS_LOG; the flags override them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_address_arguments(parser)
        parser.add_argument(
            "--workers",
            type=options.positive,
            help="Worker processes (env WEB_CONCURRENCY, default: CPU cores, at least 2)",
        )
        parser.add_argument(
            "--threads",
            type=options.positive,
            help=f"Threads per worker process (env WEB_THREADS, default {options.DEFAULT_THREADS})",
        )
        parser.add_argument(
            "--timeout",
            type=options.positive,
            help="Seconds a request may take before its worker is restarted "
            f"(env WEB_TIMEOUT, default {options.DEFAULT_TIMEOUT})",
        )
        parser.add_argument(
            "--access-log",
            action=BooleanOptionalAction,
            help="Log each request to standard output (env WEB_ACCESS_LOG, default on)",
        )

    def handle(
        self,
        *,
        host: str | None,
        port: int | None,
        workers: int | None,
        threads: int | None,
        timeout: int | None,
        access_log: bool | None,
        **_: Any,
    ) -> None:
        host = host or options.default_host()
        port = port or options.default_port()
        timeout = timeout or options.default_timeout()
        if access_log is None:
            access_log = options.env_bool("WEB_ACCESS_LOG", True)
        DjangoApplication(
            {
                "bind": [options.bind_address(host, port)],
                "worker_class": "gthread",
                "workers": workers or options.default_workers(),
                "threads": threads or options.default_threads(),
                "timeout": timeout,
                "graceful_timeout": timeout,
                "accesslog": "-" if access_log else None,
                "errorlog": "-",
                "proc_name": "bounceback-web",
                # Gunicorn 25+ opens a control socket at one fixed path per user, so
                # a second server on the machine (tests, a second checkout) would
                # take it over; nothing here uses it.
                "control_socket_disable": True,
            }
        ).run()
