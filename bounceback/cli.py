"""The `bounceback` command: one entry point for every process and admin task.

`bounceback X args…` runs the Django management command X with Bounceback's
settings, so each command's options and `--help` come from its own parser and
there is no second argument layer to keep in step. Only the top-level listing
lives here, because it must answer without loading settings (which would create
the data directory as a side effect of asking for help).
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

SETTINGS_MODULE = "bounceback.config.settings"

# The commands a person is expected to use, in the order they meet them.
COMMANDS: dict[str, str] = {
    "serve": "Run the web server and a background worker together (the one-machine set-up)",
    "web": "Run the web server only (gunicorn); scale these out behind a load balancer",
    "worker": "Run a background worker only, for the configured task backend",
    "migrate": "Create or upgrade the database tables",
    "demo": "Load a demo business with sample data and sign-ins",
    "createuser": "Create a staff user with a role, team and password",
    "token": "Create, list and revoke API tokens",
    "import": "Import customers, transactions, signals or past cases from a CSV file",
    "imap-poll": "Read new mail from the IMAP mailbox once (--once) or every poll interval",
    "smtpd": "Receive email over SMTP for a mail server that relays customer mail in",
}

# `bounceback migrate` on every start should not scroll a page of
# "Applying …  OK" lines past the user; -v 1 brings them back.
QUIET_BY_DEFAULT = {"migrate"}


def _version() -> str:
    try:
        return version("bounceback")
    except PackageNotFoundError:
        return "unknown"


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: bounceback COMMAND [options]",
        "",
        "Bounceback, the service recovery platform.",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()),
        "",
        "Run `bounceback COMMAND --help` for a command's options.",
        "Any other Django management command works too (check, shell, dbshell, ...).",
        "Settings come from environment variables; see the README.",
    ]
    return "\n".join(lines)


def _wants_verbosity(args: list[str]) -> bool:
    return any(arg.startswith(("-v", "--verbosity")) for arg in args)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # `bounceback help token` is left to Django, which prints that command's help.
    if not args or args == ["help"] or args[0] in {"-h", "--help"}:
        print(usage())
        return 0
    if args[0] == "--version":
        print(f"bounceback {_version()}")
        return 0

    command, rest = args[0], args[1:]
    if command in QUIET_BY_DEFAULT and not _wants_verbosity(rest):
        rest = [*rest, "--verbosity", "0"]

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # argv[0] becomes the program name in Django's usage lines: "usage: bounceback token ...".
        execute_from_command_line(["bounceback", command, *rest])
    except ImproperlyConfigured as exc:
        # A bad environment variable is the operator's to fix: say which, no traceback.
        print(f"bounceback: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
