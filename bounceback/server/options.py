"""Defaults for the process commands, read from the environment.

Container platforms and process managers configure processes through the
environment (HOST, PORT, WEB_CONCURRENCY are the usual names), so every option
of `web` and `serve` has an environment variable and a flag that overrides it.
"""

from __future__ import annotations

import os
from argparse import ArgumentTypeError

from django.core.management.base import CommandError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 4
DEFAULT_TIMEOUT = 30


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise CommandError(f"{name} must be at least {minimum}, not {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise CommandError(f"{name} must be true or false, not {raw!r}")


def default_host() -> str:
    return os.environ.get("HOST", "").strip() or DEFAULT_HOST


def default_port() -> int:
    return env_int("PORT", DEFAULT_PORT)


def default_workers() -> int:
    # gthread workers are processes that each serve WEB_THREADS requests at
    # once; one per core (at least two, so one slow request never blocks all).
    return env_int("WEB_CONCURRENCY", max(2, os.cpu_count() or 1))


def default_threads() -> int:
    return env_int("WEB_THREADS", DEFAULT_THREADS)


def default_timeout() -> int:
    return env_int("WEB_TIMEOUT", DEFAULT_TIMEOUT)


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def browser_url(host: str, port: int) -> str:
    """The address to open in a browser: a wildcard bind is reached on loopback."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 (naming the wildcard, not binding to it)
        host = "127.0.0.1"
    return f"http://{bind_address(host, port)}/"


def port_number(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 < port < 65536:
        raise ArgumentTypeError(f"port must be between 1 and 65535, not {port}")
    return port


def positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if value < 1:
        raise ArgumentTypeError(f"must be at least 1, not {value}")
    return value
