"""`bounceback demo`: a believable business, loaded fast, the same every time."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from bounceback.accounts.models import Team, User
from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import Breakdown
from bounceback.cases.models import Case
from bounceback.customers.models import Customer, CustomerEmail, CustomerExternalId
from bounceback.demo import business as biz
from bounceback.demo.services import demo_load
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.funds.models import Grant, LedgerEntry
from bounceback.interactions.models import Interaction
from bounceback.mail.models import InboundEmail
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.playbooks.models import Playbook
from bounceback.portal.models import WebFormSubmission
from bounceback.sites.models import Site
from bounceback.timers.models import Timer
from bounceback.transactions.models import Transaction
from bounceback.webhooks.models import InboundChannel, WebhookSubscription

pytestmark = pytest.mark.django_db

LOGIN_LINE = re.compile(r"^\s+(\S+)\s+(harbour-\S+)\s+(\w+)\s", re.MULTILINE)


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def printed_logins(output: str) -> list[tuple[str, str, str]]:
    return LOGIN_LINE.findall(output)


def wipe() -> None:
    # Funds first (grants hold on to their cases), then the channels' rows:
    # they point at customers and cases.
    LedgerEntry.objects.all().delete()
    Grant.objects.all().delete()
    InboundEmail.objects.all().delete()
    WebFormSubmission.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    InboundChannel.objects.all().delete()
    # Discovery's rows point at customers, cases and breakdowns.
    from bounceback.discovery.models import Rule, SuspectedBreakdown
    from bounceback.signals.models import Signal

    Rule.objects.all().delete()
    SuspectedBreakdown.objects.all().delete()
    Signal.objects.all().delete()
    # Breakdowns hold on to their affected customers: they go first.
    Breakdown.objects.all().delete()
    Case.objects.all().delete()
    Timer.objects.all().delete()
    Notification.objects.all().delete()
    OutboundMessage.objects.all().delete()
    Interaction.objects.all().delete()
    Transaction.objects.all().delete()
    Customer.objects.all().delete()
    # Drills hold on to their playbooks and people; their cases and customers went above.
    from bounceback.drills.models import Drill, DrillSchedule, Scenario

    Drill.objects.all().delete()
    DrillSchedule.objects.all().delete()
    Scenario.objects.all().delete()
    User.objects.all().delete()
    Team.objects.all().delete()
    # Contingency planning holds on to sites and playbook versions: the
    # playbooks, then the catalog.
    Playbook.objects.all().delete()
    FailureMode.objects.all().delete()
    Touchpoint.objects.all().delete()
    Site.objects.all().delete()


def test_demo_loads_a_multi_site_business_of_useful_size() -> None:
    # Given an empty database
    # When the demo is loaded with the defaults
    output = run_demo()

    # Then there is enough data to demo with, spread over the business's sites
    assert Customer.objects.count() >= 200
    assert Transaction.objects.count() >= 2000
    assert Interaction.objects.count() >= 300
    assert set(Site.objects.values_list("code", flat=True)) == {s.code for s in biz.SITES}
    for site in biz.SITES:
        assert Transaction.objects.at_site(site.code).count() >= 100, site.code
    assert set(Transaction.objects.values_list("kind", flat=True)) >= {
        "booking",
        "appointment",
        "order",
        "delivery",
        "subscription",
    }
    # ...with history behind it and bookings ahead of it
    now = timezone.now()
    assert Transaction.objects.filter(occurred_at__lt=now - timedelta(days=450)).exists()
    assert Transaction.objects.filter(scheduled_for__gt=now).count() >= 80
    assert "Loaded Harbourside Events & Services" in output
    # ...and the summary counts the cases in each status
    counts = Counter(Case.objects.values_list("status", flat=True))
    line = next(x for x in output.splitlines() if x.strip().startswith("cases"))
    assert f"{sum(counts.values())}" in line
    for value, label in Case.Status.choices:
        assert f"{counts[value]} {label.lower()}" in line, label


def test_the_demo_customers_are_the_ones_the_articles_describe() -> None:
    # Given the demo business
    run_demo()
    customers = list(Customer.objects.all())
    tagged = {tag: [c for c in customers if tag in c.tags] for tag in biz_tags()}

    # Then a few high-value customers are tagged vip and lead on lifetime value
    assert 3 <= len(tagged["vip"]) <= 20
    top = sorted(customers, key=lambda c: c.lifetime_value, reverse=True)[:5]
    assert all("vip" in c.tags for c in top)
    # ...a few chronic complainers have written in over and over
    assert 3 <= len(tagged["chronic-complainer"]) <= 20
    for complainer in tagged["chronic-complainer"]:
        inbound = complainer.interactions.filter(direction=Interaction.Direction.INBOUND)
        assert inbound.count() >= 5, complainer.name
    # ...a notable group of old-school customers prefer email
    assert len(tagged["old-school"]) >= 20
    assert all(c.preferred_channel == "email" for c in tagged["old-school"])
    # ...and customers live in several locales and time zones
    assert len({c.time_zone for c in customers}) >= 4
    assert len({c.locale for c in customers}) >= 3


def biz_tags() -> tuple[str, ...]:
    return ("vip", "chronic-complainer", "old-school")


def test_demo_data_can_never_reach_a_real_person() -> None:
    # Given the demo business
    run_demo("--customers", "60")

    # Then every email is on a reserved domain (RFC 2606; a drill's synthetic customers
    # are on drill.invalid) and every phone is fictional
    domains = {a.rsplit("@", 1)[1] for a in CustomerEmail.objects.values_list("address", flat=True)}
    assert all(
        d == "example"
        or d.endswith((".example", ".invalid", "example.com", "example.net", "example.org"))
        for d in domains
    ), domains
    numbers = Customer.objects.values_list("phones__number", flat=True)
    assert all(n is None or n[-7:-2] == "55501" for n in numbers)
    # ...and nothing in the timeline claims to have happened in the future
    assert not Interaction.objects.filter(occurred_at__gt=timezone.now()).exists()


def test_every_role_signs_in_with_the_printed_credentials() -> None:
    # Given the demo was loaded
    output = run_demo("--customers", "30")

    # When each printed login is tried
    logins = printed_logins(output)

    # Then every role has one, and every one of them signs in
    assert {role for _, _, role in logins} == set(Role.values)
    for username, password, role in logins:
        assert Client().login(username=username, password=password), username
        assert User.objects.get(username=username).role == role
    # ...and staff sit in teams, reading times on the business's clock
    assert User.objects.filter(team__isnull=True).count() == 0
    assert set(User.objects.values_list("time_zone", flat=True)) == {biz.TIME_ZONE}


def test_the_venue_has_a_sold_out_dance_competition_tonight() -> None:
    # Given the demo was loaded
    output = run_demo()
    now = timezone.now()

    # When looking for bookings at the venue over the coming evening (loaded
    # just after midnight, that is the evening of the day just begun)
    from bounceback.demo.generator import tonight_start

    start = tonight_start(now=now)
    assert now < start < now + timedelta(hours=24)
    tonight = Transaction.objects.at_site(biz.VENUE.code).scheduled_between(
        start, start + timedelta(hours=12)
    )

    # Then the dance championship has dozens of confirmed bookings still ahead
    bookings = tonight.filter(kind="booking", product__startswith=biz.TONIGHT_EVENT)
    assert bookings.count() >= 40
    assert set(bookings.values_list("status", flat=True)) == {"confirmed"}
    assert bookings.values("customer").distinct().count() >= 40
    assert f"Tonight at {biz.VENUE.name}" in output


def test_tonight_means_this_evening_at_the_venue() -> None:
    zone = ZoneInfo(biz.TIME_ZONE)
    from bounceback.demo.generator import tonight_start

    # Loaded in the morning: the session starts at 19:00 the same day
    morning = datetime(2026, 6, 3, 9, 30, tzinfo=zone)
    assert tonight_start(now=morning) == datetime(2026, 6, 3, 19, 0, tzinfo=zone)
    # Loaded late in the evening: it starts an hour later, still ahead
    late = datetime(2026, 6, 3, 21, 10, tzinfo=zone)
    start = tonight_start(now=late)
    assert late + timedelta(minutes=45) <= start <= late + timedelta(hours=1)


def test_the_same_seed_gives_the_same_people_and_ids_on_any_day() -> None:
    def snapshot() -> tuple[list[tuple[str, str]], list[str], list[str], list[tuple]]:
        # A drill's synthetic customers are named after the drill's row id; the
        # business itself must come back the same.
        people = sorted(
            CustomerEmail.objects.filter(customer__drill__isnull=True).values_list(
                "customer__name", "address"
            )
        )
        ids = sorted(CustomerExternalId.objects.values_list("external_id", flat=True))
        txns = sorted(Transaction.objects.values_list("external_id", flat=True))
        # Cases in the order they were opened. Their references number on from
        # the database's last case, so compare them counted from the first.
        rows = list(
            Case.objects.real()
            .order_by("pk")
            .values_list("reference", "summary", "customer__name", "status", "severity")
        )
        first = int(rows[0][0].removeprefix("BB-")) if rows else 0
        cases = [(int(ref.removeprefix("BB-")) - first, *rest) for ref, *rest in rows]
        return people, ids, txns, cases

    # Given the demo loaded with seed 11
    run_demo("--seed", "11", "--customers", "50")
    first = snapshot()
    wipe()

    # When it is loaded again with the same seed, as it would have been a month ago
    demo_load(seed=11, customers=50, now=timezone.now() - timedelta(days=31))

    # Then the same customers, emails, transaction ids and cases come back
    assert snapshot() == first
    assert len(first[2]) >= 400
    assert len(first[3]) >= 40
    assert [n for n, *_ in first[3]] == list(range(len(first[3])))

    # ...while another seed gives other people
    wipe()
    run_demo("--seed", "12", "--customers", "50")
    assert snapshot()[0] != first[0]


def test_if_empty_on_a_loaded_database_adds_nothing_but_prints_the_logins() -> None:
    # Given a database where the demo is loaded
    run_demo("--customers", "30")
    counts = (Customer.objects.count(), Transaction.objects.count(), Interaction.objects.count())

    # When the demo is asked for again, only if empty
    output = run_demo("--if-empty")

    # Then nothing was added, and the logins are still shown
    assert (
        Customer.objects.count(),
        Transaction.objects.count(),
        Interaction.objects.count(),
    ) == counts
    assert "not loaded again" in output
    assert {role for _, _, role in printed_logins(output)} == set(Role.values)


def test_loading_over_existing_data_is_refused_and_changes_nothing() -> None:
    # Given a database with a customer of its own
    Customer.objects.create(name="Real Customer")

    # When the demo is loaded without --if-empty
    with pytest.raises(CommandError, match="only into an empty database"):
        run_demo("--customers", "30")

    # Then nothing of the demo was written
    assert Customer.objects.count() == 1
    assert not Site.objects.exists()
    assert not User.objects.exists()
