"""`bounceback token`: API tokens for other systems (create, list, revoke)."""

from __future__ import annotations

from argparse import ArgumentParser, RawDescriptionHelpFormatter
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.scopes import SCOPES
from bounceback.apitokens.services import token_create, token_revoke
from bounceback.errors import ServiceError


def _scopes_epilog() -> str:
    width = max(len(scope) for scope in SCOPES)
    lines = [f"  {scope.ljust(width)}  {text}" for scope, text in SCOPES.items()]
    return "scopes (a :write scope includes :read):\n" + "\n".join(lines)


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser(
            "create",
            help="Create a token and print it (once)",
            description="Create a token. It is printed once, alone on standard output,\n"
            "and cannot be shown again: only a hash of it is kept.",
            epilog=_scopes_epilog(),
            formatter_class=RawDescriptionHelpFormatter,
        )
        create.add_argument("name", help="What the token is for, e.g. the calling system")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            required=True,
            metavar="SCOPE",
            help="A scope to grant; repeat it (or separate with commas) for several",
        )

        create.add_argument(
            "--as",
            dest="acts_for",
            metavar="USERNAME",
            help="The member of staff the token acts for: what it writes is theirs, "
            "and writes that need a person (spending a recovery fund) are made as them. "
            "Without it the token acts for nobody and such writes are refused",
        )

        actions.add_parser("list", help="List tokens, newest first (never the secrets)")

        revoke = actions.add_parser("revoke", help="Revoke a token so it stops working")
        revoke.add_argument("prefix", help="The token's prefix, as `token list` shows it")

    def handle(self, *, action: str, **options: Any) -> None:
        try:
            if action == "create":
                self._create(
                    name=options["name"], scopes=options["scopes"], acts_for=options["acts_for"]
                )
            elif action == "list":
                self._list()
            else:
                self._revoke(prefix=options["prefix"])
        except ServiceError as exc:
            raise CommandError(exc.message) from None

    def _create(self, *, name: str, scopes: list[str], acts_for: str | None) -> None:
        wanted = [part.strip() for scope in scopes for part in scope.split(",") if part.strip()]
        person = None
        if acts_for is not None:
            person = User.objects.filter(username__iexact=acts_for.strip()).first()
            if person is None:
                raise CommandError(f"no member of staff is called {acts_for!r}")
        token, plaintext = token_create(name=name, scopes=wanted, actor=None, acts_for=person)
        # Only the token goes to stdout, so `TOKEN=$(bounceback token create …)` works.
        self.stdout.write(plaintext)
        self.stderr.write(
            f"Created token {token.name!r} (prefix {token.prefix}, scopes "
            f"{', '.join(token.scopes)}, acting for "
            f"{person.get_username() if person else 'nobody'}). "
            "Copy it now: it will not be shown again.",
            style_func=self.style.WARNING,
        )

    def _list(self) -> None:
        rows = [("PREFIX", "NAME", "SCOPES", "CREATED", "LAST USED", "REVOKED", "ACTS FOR")]
        for token in ApiToken.objects.select_related("created_by"):
            rows.append(
                (
                    token.prefix,
                    token.name,
                    ",".join(token.scopes),
                    _when(token.created_at),
                    _when(token.last_used_at),
                    _when(token.revoked_at),
                    token.created_by.get_username() if token.created_by else "-",
                )
            )
        if len(rows) == 1:
            self.stdout.write("No API tokens yet. Create one with `bounceback token create`.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def _revoke(self, *, prefix: str) -> None:
        token = token_revoke(prefix=prefix.strip(), actor=None)
        self.stdout.write(f"Revoked token {token.name!r} (prefix {token.prefix}).")
