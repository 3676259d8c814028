"""`bounceback import transactions|customers FILE.csv`: load a CSV export, row by row."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bounceback.accounts.models import User
from bounceback.errors import ServiceError
from bounceback.imports.interactions import INTERACTION_FIELDS
from bounceback.imports.models import ImportRun
from bounceback.imports.services import (
    CASE_FIELDS,
    CUSTOMER_FIELDS,
    DEFAULT_SOURCE,
    ImportResult,
    import_csv,
    rejections_write_csv,
)
from bounceback.signals.services import FIELDS as SIGNAL_FIELDS
from bounceback.transactions.services import FIELDS as TRANSACTION_FIELDS

SHOWN_REJECTIONS = 20


def _parse_map(pairs: list[str]) -> dict[str, str]:
    column_map: dict[str, str] = {}
    for pair in pairs:
        # Split at the last '=': field names never hold one, column names might.
        column, sep, target = pair.rpartition("=")
        if not sep or not column.strip():
            raise CommandError(
                f"--map {pair!r}: write it as COLUMN=FIELD, e.g. --map 'Order No=external_id'"
            )
        if column.strip() in column_map:
            raise CommandError(f"--map names column {column.strip()!r} twice")
        column_map[column.strip()] = target.strip()
    return column_map


class Command(BaseCommand):
    help = (
        "Import customers or transactions from a CSV file (UTF-8, with or without BOM). "
        "Valid rows are stored, rejected rows change nothing and are listed with their line "
        "numbers. Transactions need an external_id column: importing the same file again "
        "updates instead of duplicating. Customers whose external id or email is already "
        "stored are updated (identities and tags are added, never removed). "
        f"Transaction fields: {', '.join(TRANSACTION_FIELDS)}, attributes.NAME. "
        f"Customer fields: {', '.join(CUSTOMER_FIELDS)}. "
        f"Signal fields: {', '.join(SIGNAL_FIELDS)}, attributes.NAME. "
        f"Case fields (historical complaints; closed ones stay closed and send nothing): "
        f"{', '.join(CASE_FIELDS)}. "
        "Interaction fields (past conversations: each row a message; reply_to names the "
        "other system's id of the message it answers, so first response times cover the "
        f"history): {', '.join(INTERACTION_FIELDS)}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=ImportRun.Kind.values, help="What the file holds.")
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument(
            "--map",
            dest="column_map",
            action="extend",
            nargs="+",
            default=[],
            metavar="COLUMN=FIELD",
            help="Read a column as a field, e.g. --map 'Order No=external_id' "
            "'E-mail=customer_email'. COLUMN= (nothing after =) skips a column.",
        )
        parser.add_argument(
            "--ignore-unknown",
            action="store_true",
            help="Skip columns that are neither mapped nor named like a field, instead of "
            "refusing the file.",
        )
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help="The system the file comes from, used where the file names none: the "
            "transactions' source and the source of external ids (default %(default)s).",
        )
        parser.add_argument(
            "--customer-source",
            help="For transactions: the system whose ids the customer_external_id column "
            "holds, where the file has no customer_source column (default: --source).",
        )
        parser.add_argument(
            "--report",
            metavar="FILE.csv",
            help="Write every rejected row (line, column, field, reason, then the row "
            "itself) to this CSV file.",
        )
        parser.add_argument("--user", help="Username to record as the person who ran the import.")
        parser.add_argument(
            "--fail-on-reject",
            action="store_true",
            help="Exit with status 1 when any row was rejected (valid rows are still stored). "
            "Without it the exit status is 0 and rejections are reported as a warning.",
        )
        parser.add_argument(
            "--date-format",
            help="How to read the date columns of signals, cases and interactions when their "
            "values fit more than one reading (03-04-15) or change format: DMY, MDY, YMD, or a "
            "strptime pattern such as %%d.%%m.%%Y. Without it such a file is refused, nothing "
            "written.",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        column_map = _parse_map(options["column_map"])
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"no user named {options['user']!r}")
        show_bar = not options["quiet"] and sys.stderr.isatty()
        bar = tqdm(
            total=None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"Importing {options['kind']}",
            file=sys.stderr,
            disable=not show_bar,
            leave=False,
        )

        def progress(done: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        try:
            result = import_csv(
                kind=options["kind"],
                path=options["file"],
                column_map=column_map,
                ignore_unknown=options["ignore_unknown"],
                source=options["source"],
                customer_source=options["customer_source"],
                actor=actor,
                progress=progress,
                date_format=options["date_format"],
            )
        except ServiceError as exc:
            raise CommandError(f"{options['file']}: {exc.message}. Nothing was imported.") from None
        finally:
            bar.close()
        self._summary(result)
        if options["report"] and result.rejections:
            with open(options["report"], "w", newline="", encoding="utf-8") as out:
                rejections_write_csv(rejections=result.rejections, header=result.header, out=out)
            self.stdout.write(
                f"All {len(result.rejections)} rejected rows written to {options['report']}"
            )
        if result.rejections and options["fail_on_reject"]:
            raise CommandError(f"{len(result.rejections)} rows were rejected", returncode=1)

    def _summary(self, result: ImportResult) -> None:
        run = result.run
        out = self.stdout.write
        out(f"Imported {run.kind} from {run.file_name} (import #{run.pk})")
        for label, value in (
            ("read", run.rows_read),
            ("created", run.rows_created),
            ("updated", run.rows_updated),
            ("unchanged", run.rows_unchanged),
            ("rejected", run.rows_rejected),
        ):
            out(f"  {label:<10}{value:>9,}")
        if result.ignored_columns:
            out(f"  skipped columns: {', '.join(result.ignored_columns)}")
        if not result.rejections:
            if run.rows_read == 0:
                out(self.style.WARNING("The file has a header but no data rows."))
            return
        shown = result.rejections[:SHOWN_REJECTIONS]
        more = len(result.rejections) - len(shown)
        count = len(result.rejections)
        # On stdout with the rest, so the list stays in order when piped to a file.
        out(
            self.style.WARNING(
                f"{count} row{'s' if count != 1 else ''} rejected (a rejected row changes "
                "nothing)" + (f"; the first {len(shown)}:" if more else ":")
            )
        )
        for r in shown:
            where = r.column or r.field or "row"
            if r.column and r.field and r.column != r.field:
                where = f"{r.column} ({r.field})"
            out(f"  line {r.line:<7} {where:<24} {r.message}"[:400])
        if more:
            out(f"  … and {more} more; --report FILE.csv writes them all.")
