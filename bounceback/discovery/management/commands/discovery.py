"""`bounceback discovery scan --since ... --until ...`: find spikes over any past window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from bounceback.discovery.services import discovery_scan, value_label
from bounceback.errors import ServiceError
from bounceback.inputs import datetime_field


def _when(value: str, name: str) -> datetime:
    try:
        parsed = datetime_field(value, field=name)
    except ServiceError as exc:
        raise CommandError(f"--{name}: {exc.message}") from None
    assert parsed is not None
    return parsed


class Command(BaseCommand):
    help = (
        "Scan cases and signals for spikes of distinct customers per category, site, product "
        "and channel (hourly and daily buckets, each against its own weekday/hour baseline) "
        "and list them. --record raises suspected breakdowns as the worker's clock does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["scan"])
        parser.add_argument("--since", help="Start (ISO date or date-time; default 7 days ago)")
        parser.add_argument("--until", help="End (default now)")
        parser.add_argument("--bucket", choices=["day", "hour", "both"], default="both")
        parser.add_argument(
            "--record", action="store_true", help="Raise or update suspected breakdowns"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        until = _when(options["until"], "until") if options["until"] else timezone.now()
        since = _when(options["since"], "since") if options["since"] else until - timedelta(days=7)
        buckets = ("day", "hour") if options["bucket"] == "both" else (options["bucket"],)
        try:
            result = discovery_scan(
                since=since, until=until, record=options["record"], buckets=buckets
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        out = self.stdout.write
        out(
            f"{len(result.spikes)} spike(s) between {since:%Y-%m-%d %H:%M} "
            f"and {until:%Y-%m-%d %H:%M}"
        )
        for s in result.spikes:
            out(
                f"  {s.at:%Y-%m-%d %H:%M} {s.bucket:<4} {s.dimension:<8} "
                f"{value_label(s.dimension, s.value)[:40]:<40} "
                f"{s.count:>5} customers, usually {s.baseline:g} (p={s.p_value:.1e})"
            )
        if options["record"]:
            out(
                f"suspected breakdowns raised: {len(result.raised)}, updated: {len(result.updated)}"
            )
