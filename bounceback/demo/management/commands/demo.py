"""`bounceback demo`: load Harbourside Events & Services, a believable demo business."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bounceback.cases.models import Case
from bounceback.customers.models import Customer
from bounceback.demo import business as biz
from bounceback.demo.generator import DEFAULT_CUSTOMERS, DEFAULT_SEED
from bounceback.demo.services import (
    DemoLogin,
    DemoSummary,
    demo_load,
    demo_logins,
    demo_logins_present,
)
from bounceback.errors import ServiceError


class Command(BaseCommand):
    help = (
        f"Load the demo business ({biz.BUSINESS_NAME}) into an empty database: sites, staff "
        "for every role, customers, 18 months of transactions and interactions, cases in every "
        "step of the recovery sequence (some breached, some waiting on the customer), and "
        "bookings tonight at the venue. Dates follow today; everything else follows the seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Random seed; the same seed gives the same people and ids "
            f"(default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS,
            help=f"How many customers to create (default {DEFAULT_CUSTOMERS}, about 11 "
            "transactions each).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when the database has no customers yet; otherwise do nothing "
            "and just print the demo logins. For start-up scripts.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = Customer.objects.count()
        if existing and options["if_empty"]:
            self.stdout.write(
                f"The database already has {existing} customers; the demo was not loaded again."
            )
            self._print_logins(demo_logins_present())
            return
        try:
            summary = demo_load(seed=options["seed"], customers=options["customers"])
        except ServiceError as exc:
            hint = (
                " Use --if-empty to skip quietly, or load the demo into a fresh database "
                "(for example BOUNCEBACK_DATA_DIR=/tmp/bounceback-demo)."
            )
            raise CommandError(exc.message + (hint if exc.code == "not_empty" else "")) from None
        self._print_summary(summary)
        self._print_logins(demo_logins())

    def _print_summary(self, s: DemoSummary) -> None:
        zone = ZoneInfo(biz.TIME_ZONE)
        local = s.tonight_start.astimezone(zone)
        out = self.stdout.write
        out(self.style.SUCCESS(f"Loaded {biz.BUSINESS_NAME} (seed {s.seed}) in {s.seconds:.1f} s."))
        out(
            f"  sites         {len(s.sites):>6}  "
            + ", ".join(f"{x.name} ({x.code})" for x in s.sites)
        )
        out(
            f"  customers     {s.customers:>6}  {s.vip} vip, {s.chronic} chronic complainers, "
            f"{s.old_school} old-school who prefer email"
        )
        out(f"  transactions  {s.transactions:>6}  {s.scheduled_ahead} scheduled ahead")
        out(f"  interactions  {s.interactions:>6}")
        out(f"  staff         {s.staff:>6}  in {s.teams} teams")
        cases = s.cases
        by_status = ", ".join(
            f"{cases.by_status[value]} {label.lower()}"
            for value, label in Case.Status.choices
            if cases.by_status.get(value)
        )
        out(f"  cases         {cases.total:>6}  {by_status}")
        out(
            f"                        {cases.breached} breached a target ({cases.escalated} "
            f"escalated), {cases.links} links, {cases.overridden} "
            f"apolog{'y' if cases.overridden == 1 else 'ies'} sent over the coach's objection"
        )
        out(
            f"  planning      {s.failure_modes:>6}  failure modes in the catalog, "
            f"{s.playbooks} playbooks, {s.breakdowns} past breakdown"
            f"{'' if s.breakdowns == 1 else 's'} with its review"
        )
        out(
            f"  channels      {s.emails:>6}  emails received ({s.held_emails} held for a person "
            "at /mail/), a report from the public form at /report/, an SMS channel and a "
            "webhook subscription at /integrations/"
        )
        out("Scenarios ready to play:")
        out(
            f"  - Tonight at {biz.VENUE.name} ({biz.VENUE.code}): {biz.TONIGHT_EVENT}, "
            f"{s.tonight_bookings} bookings from {local:%H:%M} ({biz.TIME_ZONE}), "
            "ready for 'the power fails at the venue tonight'."
        )
        out(
            f"  - {biz.SICK_TECHNICIAN} at {biz.WORKSHOP.name} ({biz.WORKSHOP.code}) has "
            f"{s.sick_technician_appointments} appointments in the next two days, ready for "
            "'the technician calls in sick'."
        )
        out(
            f"  - {s.flood_route_deliveries} deliveries from {biz.DEPOT.name} "
            f"({biz.DEPOT.code}) on the {biz.FLOOD_ROUTE} route in the coming days, ready for "
            "'a flood delays shipments'."
        )
        scenarios = s.case_scenarios
        out(
            f"  - Cases from the past breakdowns, linked to each other: the power cut at "
            f"{biz.VENUE.name} ({scenarios.get('power-cut', 0)}), the flood on the "
            f"{biz.FLOOD_ROUTE} road ({scenarios.get('flood', 0)}), {biz.SICK_TECHNICIAN}'s sick "
            f"day ({scenarios.get('sick-day', 0)}); chronic complainers "
            f"({scenarios.get('chronic', 0)} cases) and vip customers "
            f"({scenarios.get('vip', 0)}, high severity)."
        )
        out(
            f"  - {cases.agent_open} open cases for 'agent' to work, timers counting down; "
            "the lead and manager see the breaches and escalations."
        )

    def _print_logins(self, logins: list[DemoLogin]) -> None:
        if not logins:
            return
        out = self.stdout.write
        out("Demo logins (published with the code: change them before exposing this server):")
        out(f"  {'username':<12} {'password':<18} {'role':<10} who")
        for login in logins:
            out(
                f"  {login.username:<12} {login.password:<18} {login.role:<10} "
                f"{login.name}, {login.title}"
            )
