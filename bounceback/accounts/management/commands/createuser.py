"""`bounceback createuser`: add a member of staff from the command line."""

from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bounceback.accounts.models import Team
from bounceback.accounts.roles import Role
from bounceback.accounts.services import team_create, user_create
from bounceback.errors import ServiceError


def read_password(*, given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        # Scripts pipe the password in, which keeps it out of `ps` and shell history.
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CommandError("no password: pass --password, pipe one in, or run in a terminal")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CommandError("the two passwords do not match")
    return first


class Command(BaseCommand):
    help = (
        "Create a staff user. The password comes from --password, from standard input "
        "when it is piped in, or is asked for twice in a terminal."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            default=Role.AGENT.value,
            choices=Role.values,
            help="What the user may do (default: %(default)s)",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--team", help="Team name; the team is created if it does not exist")
        parser.add_argument(
            "--password",
            help="The password (visible to other local users in the process list; "
            "prefer the prompt or a pipe)",
        )

    def handle(
        self,
        *,
        username: str,
        role: str,
        email: str,
        first_name: str,
        last_name: str,
        team: str | None,
        password: str | None,
        **_: Any,
    ) -> None:
        secret = read_password(given=password)
        try:
            with transaction.atomic():
                team_obj = self._team(team) if team else None
                user = user_create(
                    username=username,
                    password=secret,
                    role=role,
                    email=email,
                    first_name=first_name,
                    last_name=last_name,
                    team=team_obj,
                )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        where = f" in team {team_obj.name!r}" if team_obj else ""
        self.stdout.write(f"Created {user.role} {user.username!r}{where}.")

    def _team(self, name: str) -> Team:
        existing = Team.objects.filter(name__iexact=name.strip()).first()
        return existing or team_create(name=name)
