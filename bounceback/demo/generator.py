"""The demo business's data, planned in memory from a seed.

`demo_plan` decides every customer, transaction, interaction and case (see
case_plan.py) without touching the database, so it is cheap to test and the
same seed always gives the same people, email addresses, transaction ids and
cases, at any hour and on any day. Only dates move: they are offsets from
`now`, so a demo loaded today has bookings tonight and history behind it,
whenever it is loaded.

Each customer draws from a random stream of its own (seeded by the demo seed
and the customer's position), so asking for more customers adds people at
the end instead of reshuffling the first ones.
"""

from __future__ import annotations

import calendar
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bounceback.customers.models import Channel
from bounceback.demo import business as biz
from bounceback.demo import names, scripts
from bounceback.demo.case_plan import INCIDENT_CASES, CasePlan, plan_cases
from bounceback.interactions.models import Interaction
from bounceback.transactions.models import Transaction

DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 240
HISTORY_DAYS = 548  # about 18 months

Kind = Transaction.Kind
Status = Transaction.Status
Direction = Interaction.Direction

# (persona, weight). High-value personas are rare on purpose: "a few".
PERSONAS = (
    ("dance_family", 28),
    ("concertgoer", 24),
    ("motorist", 26),
    ("shopper", 17),
    ("corporate", 3),
    ("studio", 2),
)
VIP_PERSONAS = {"corporate", "studio"}
PERSONA_TAGS = {
    "dance_family": "dance-family",
    "concertgoer": "concert-goer",
    "motorist": "motorist",
    "shopper": "online-shopper",
    "corporate": "corporate",
    "studio": "dance-studio",
}
# (locale, time zone, weight): mostly local, some visiting competitors.
LOCALES = (
    ("en-US", "America/New_York", 78),
    ("es-US", "America/New_York", 8),
    ("en-US", "America/Chicago", 4),
    ("en-US", "America/Los_Angeles", 3),
    ("fr-CA", "America/Toronto", 3),
    ("en-GB", "Europe/London", 2),
    ("es-MX", "America/Mexico_City", 2),
)
# Preferred channel of everyone who is not old-school (who all prefer email).
CHANNELS = (
    (Channel.EMAIL, 34),
    (Channel.SMS, 20),
    (Channel.PHONE, 15),
    (Channel.CHAT, 16),
    (Channel.WEB, 10),
    (Channel.IN_PERSON, 5),
)
OLD_SCHOOL_SHARE = 0.16
CHRONIC_SHARE = 0.04


@dataclass(frozen=True)
class CustomerPlan:
    key: str  # external id in the CRM source
    name: str
    first_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    preferred_channel: str
    locale: str
    time_zone: str
    notes: str
    tags: tuple[str, ...]
    persona: str


@dataclass(frozen=True)
class InteractionPlan:
    customer_key: str
    channel: str
    direction: str
    subject: str
    body: str
    occurred_at: datetime
    thread_ref: str
    author: str | None  # staff username; None when the customer wrote it
    transaction: str | None


@dataclass
class _Txn:
    """A planned transaction, kept rich so complaints can talk about it."""

    customer_key: str
    kind: str
    source: str
    external_id: str
    amount: Decimal
    occurred_at: datetime
    scheduled_for: datetime | None
    site: str | None
    product: str
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    # Age in days that ignores month lengths, for charges dated by the calendar:
    # what the case planner compares, so its choices do not move with the date.
    nominal_age: int | None = None

    def as_item(self) -> dict[str, Any]:
        """The mapping transactions_upsert takes, as a booking system would send it."""
        return {
            "customer_source": biz.CRM_SOURCE,
            "customer_external_id": self.customer_key,
            "kind": self.kind,
            "source": self.source,
            "external_id": self.external_id,
            "amount": str(self.amount),
            "currency": "USD",
            "occurred_at": self.occurred_at,
            "scheduled_for": self.scheduled_for,
            "site": self.site,
            "product": self.product,
            "status": self.status,
            "attributes": self.attributes,
        }


@dataclass
class DemoPlan:
    seed: int
    now: datetime
    customers: list[CustomerPlan]
    transactions: list[dict[str, Any]]
    interactions: list[InteractionPlan]
    tonight_start: datetime
    tonight_bookings: int
    sick_technician_appointments: int
    flood_route_deliveries: int
    cases: list[CasePlan] = field(default_factory=list)


def tonight_start(*, now: datetime, time_zone: str = biz.TIME_ZONE) -> datetime:
    """When tonight's session at the venue begins.

    19:00 venue time; when the demo is loaded later than 18:00 the session
    starts an hour from now instead, so "the power fails tonight" always has
    bookings still ahead of it.
    """
    zone = ZoneInfo(time_zone)
    local_now = now.astimezone(zone)
    start = datetime.combine(local_now.date(), time(biz.TONIGHT_HOUR), tzinfo=zone)
    if start < local_now + timedelta(hours=1):
        soon = local_now + timedelta(hours=1)
        start = soon.replace(minute=(soon.minute // 15) * 15, second=0, microsecond=0)
    return start


def _weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    if low == high:
        return Decimal(f"{low - 1}.99")
    cents = rng.randrange(low * 100, high * 100 + 1, 5)
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class _Builder:
    def __init__(self, *, seed: int, count: int, now: datetime) -> None:
        self.seed = seed
        self.count = count
        self.now = now.replace(microsecond=0)
        self.zone = ZoneInfo(biz.TIME_ZONE)
        self.customers: list[CustomerPlan] = []
        self.txns: list[_Txn] = []
        self.by_customer: dict[str, list[_Txn]] = {}
        self.interactions: list[InteractionPlan] = []
        self.counters: dict[str, int] = {}
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.full_names: set[str] = set()
        self.threads = 0
        self.studios = 0
        # Complaints from the past breakdowns that became cases, by breakdown:
        # (customer, the transaction it hit, when they complained).
        self.incidents: dict[str, list[tuple[CustomerPlan, _Txn, datetime]]] = {}

    # --- time helpers ---------------------------------------------------------

    def local_day(self, days_from_today: int) -> date:
        return self.now.astimezone(self.zone).date() + timedelta(days=days_from_today)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def past(self, rng: random.Random, *, low_days: float, high_days: float) -> datetime:
        """A moment between low and high days ago, in waking hours at the business."""
        day = self.local_day(-rng.randint(int(low_days), int(high_days)))
        moment = self.at(day, rng.randint(8, 21), rng.choice((0, 10, 15, 20, 30, 40, 45, 50)))
        # Drawn whether needed or not: a draw that depends on the hour the demo is
        # loaded at would shift every later draw, and with them the ids.
        recent = self.now - timedelta(hours=rng.randint(2, 30))
        if moment > self.now - timedelta(hours=2):
            moment = recent
        return moment

    # --- ids ------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{100000 + self.counters[prefix]}"

    def add(self, txn: _Txn) -> _Txn:
        self.txns.append(txn)
        self.by_customer.setdefault(txn.customer_key, []).append(txn)
        return txn

    # --- customers ------------------------------------------------------------

    def customer(self, index: int, rng: random.Random) -> CustomerPlan:
        persona = _weighted(rng, PERSONAS)
        locale, time_zone = _weighted(rng, [((loc, tz), w) for loc, tz, w in LOCALES])
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        for _ in range(6):  # a few namesakes are realistic; many are not
            if f"{first} {last}" not in self.full_names:
                break
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        tags = [PERSONA_TAGS[persona]]
        notes = ""
        if persona in VIP_PERSONAS:
            tags.append("vip")
            notes = rng.choice(scripts.VIP_NOTES)
        if persona == "corporate":
            company = f"{rng.choice(names.COMPANY_WORDS)} {rng.choice(names.COMPANY_KINDS)}"
            for _ in range(6):
                if company not in self.full_names:
                    break
                company = f"{rng.choice(names.COMPANY_WORDS)} {rng.choice(names.COMPANY_KINDS)}"
            name = company
            mailbox, domain = _slug(first), f"{_slug(company)}.example"
        elif persona == "studio":
            self.studios += 1
            name = names.DANCE_STUDIOS[(self.studios - 1) % len(names.DANCE_STUDIOS)]
            if self.studios > len(names.DANCE_STUDIOS):
                name = f"{name} {rng.choice(('North', 'South', 'East', 'West'))}"
            mailbox, domain = "office", f"{_slug(name)[:24]}.example"
        else:
            name = f"{first} {last}"
            style = rng.random()
            if style < 0.6:
                mailbox = f"{_slug(first)}.{_slug(last)}"
            elif style < 0.85:
                mailbox = f"{_slug(first)[0]}{_slug(last)}{rng.randint(1950, 2005) % 100:02d}"
            else:
                mailbox = f"{_slug(last)}.{_slug(first)}"
            domain = rng.choice(names.EMAIL_DOMAINS)
        self.full_names.add(name)
        emails = [self.unique_email(mailbox, domain)]
        if rng.random() < 0.08 and persona not in VIP_PERSONAS:
            emails.append(self.unique_email(f"{_slug(first)}.{_slug(last)}.work", "example.org"))

        old_school = rng.random() < OLD_SCHOOL_SHARE and persona not in VIP_PERSONAS
        channel = Channel.EMAIL if old_school else _weighted(rng, CHANNELS)
        if old_school:
            tags.append("old-school")
            notes = rng.choice(scripts.OLD_SCHOOL_NOTES)
        phones: list[str] = []
        wants_phone = channel in (Channel.PHONE, Channel.SMS) or persona in VIP_PERSONAS
        if wants_phone or rng.random() < 0.55:
            number = self.unique_phone(rng)
            if number:
                phones.append(number)
        if not phones and channel in (Channel.PHONE, Channel.SMS):
            channel = Channel.EMAIL  # out of fictional numbers: reach them by email
        return CustomerPlan(
            key=f"C-{index + 1:05d}",
            name=name,
            first_name=first,
            emails=tuple(emails),
            phones=tuple(phones),
            preferred_channel=str(channel),
            locale=locale,
            time_zone=time_zone,
            notes=notes,
            tags=tuple(sorted(tags)),
            persona=persona,
        )

    def unique_email(self, mailbox: str, domain: str) -> str:
        address, n = f"{mailbox}@{domain}", 1
        while address in self.emails:
            n += 1
            address = f"{mailbox}{n}@{domain}"
        self.emails.add(address)
        return address

    def unique_phone(self, rng: random.Random) -> str | None:
        # Start from a random fictional number and walk on until a free one turns up.
        codes = names.AREA_CODES
        total = len(codes) * 100
        start = rng.randrange(total)
        for step in range(total):
            slot = (start + step) % total
            number = f"+1 {codes[slot // 100]} 555 01{slot % 100:02d}"
            if number not in self.phones:
                self.phones.add(number)
                return number
        return None

    # --- transactions -----------------------------------------------------------

    def ticket_booking(
        self, rng: random.Random, key: str, *, site: biz.SiteSpec, event: str, when: datetime
    ) -> _Txn:
        tickets = rng.randint(1, 5)
        price = _money(rng, 24, 95)
        booked = when - timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 10))
        cancelled = rng.random() < 0.05
        return self.add(
            _Txn(
                customer_key=key,
                kind=Kind.BOOKING,
                source=biz.TICKETS_SOURCE,
                external_id=self.next_id("BK"),
                amount=price * tickets,
                occurred_at=booked,
                scheduled_for=when,
                site=site.code,
                product=event,
                status=Status.CANCELLED if cancelled else self.status_for(when),
                attributes={"event": event, "tickets": tickets, "row": rng.choice("ABCDEFGHJK")},
            )
        )

    def status_for(self, when: datetime) -> str:
        return Status.COMPLETED if when < self.now else Status.CONFIRMED

    def past_event_time(self, rng: random.Random) -> datetime:
        day = self.local_day(-rng.randint(2, HISTORY_DAYS - 30))
        return self.at(day, rng.choice((18, 19, 19, 20)), rng.choice((0, 30)))

    def competition_entry(self, rng: random.Random, key: str, *, amount_scale: int = 1) -> _Txn:
        when = self.past_event_time(rng)
        category = rng.choice(biz.COMPETITION_CATEGORIES)
        return self.add(
            _Txn(
                customer_key=key,
                kind=Kind.BOOKING,
                source=biz.TICKETS_SOURCE,
                external_id=self.next_id("BK"),
                amount=_money(rng, 85, 195) * amount_scale,
                occurred_at=when - timedelta(days=rng.randint(14, 60)),
                scheduled_for=when,
                site=biz.VENUE.code,
                product=f"{biz.TONIGHT_EVENT} entry: {category}",
                status=Status.COMPLETED,
                attributes={"event": biz.TONIGHT_EVENT, "category": category},
            )
        )

    def workshop_job(
        self,
        rng: random.Random,
        key: str,
        *,
        when: datetime,
        vehicle: str,
        technician: str | None = None,
    ) -> _Txn:
        service = rng.choice(biz.WORKSHOP_SERVICES)
        drawn_technician = rng.choice(biz.TECHNICIANS)  # drawn either way, see past()
        return self.add(
            _Txn(
                customer_key=key,
                kind=Kind.APPOINTMENT,
                source=biz.WORKSHOP_SOURCE,
                external_id=self.next_id("AP"),
                amount=_money(rng, service.low, service.high),
                occurred_at=when - timedelta(days=rng.randint(1, 21), hours=rng.randint(0, 8)),
                scheduled_for=when,
                site=biz.WORKSHOP.code,
                product=service.name,
                status=self.status_for(when),
                attributes={
                    "vehicle": vehicle,
                    "technician": technician or drawn_technician,
                    "bay": rng.randint(1, 6),
                },
            )
        )

    def shop_order(
        self,
        rng: random.Random,
        key: str,
        *,
        when: datetime,
        route: str | None = None,
        upcoming: bool = False,
        scale: int = 1,
    ) -> tuple[_Txn, _Txn]:
        product = rng.choice(biz.SHOP_PRODUCTS)
        order = self.add(
            _Txn(
                customer_key=key,
                kind=Kind.ORDER,
                source=biz.SHOP_SOURCE,
                external_id=self.next_id("OR"),
                amount=_money(rng, product.low, product.high) * scale,
                occurred_at=when,
                scheduled_for=None,
                site=biz.DEPOT.code,
                product=product.name,
                status=Status.REFUNDED if rng.random() < 0.03 else Status.COMPLETED,
                attributes={"items": rng.randint(1, 4) * scale},
            )
        )
        route = route or rng.choice(biz.ROUTES)
        if upcoming:
            due = self.at(self.local_day(rng.randint(1, 5)), rng.randint(9, 17))
        else:
            due = when + timedelta(days=rng.randint(2, 5))
            recent = self.now - timedelta(hours=rng.randint(1, 12))  # drawn either way
            if due > self.now - timedelta(hours=1):
                due = recent
        delivery = self.add(
            _Txn(
                customer_key=key,
                kind=Kind.DELIVERY,
                source=biz.SHOP_SOURCE,
                external_id=self.next_id("DL"),
                amount=_money(rng, 8, 25) if order.amount < 100 else Decimal("0.00"),
                occurred_at=when,
                scheduled_for=due,
                site=biz.DEPOT.code,
                product=f"Delivery of {order.external_id}",
                status=Status.PENDING if upcoming else Status.COMPLETED,
                attributes={
                    "order": order.external_id,
                    "route": route,
                    "carrier": rng.choice(biz.CARRIERS),
                    "tracking": f"HB{rng.randrange(10**9, 10**10)}",
                },
            )
        )
        return order, delivery

    def subscription(self, rng: random.Random, key: str, plan: biz.Product, site: str) -> None:
        months = rng.randint(3, 17)
        # The latest charge went out 1 to 28 days ago, the earlier ones on the same
        # day of the months before. Counting back from it (not from the calendar)
        # gives every customer the same number of charges, and so the same ids,
        # whatever day the demo is loaded on.
        offset = rng.randint(1, 28)
        latest = self.local_day(-offset)
        cancelled_after = months - 1 if rng.random() < 0.2 else None
        for back in range(months, -1, -1):
            year, month = latest.year, latest.month - back
            while month <= 0:
                month += 12
                year -= 1
            day = min(latest.day, calendar.monthrange(year, month)[1])
            when = self.at(date(year, month, day), 6)
            if cancelled_after is not None and months - back > cancelled_after:
                break
            self.add(
                _Txn(
                    customer_key=key,
                    kind=Kind.SUBSCRIPTION,
                    source=biz.BILLING_SOURCE,
                    external_id=self.next_id("SB"),
                    amount=_money(rng, plan.low, plan.high),
                    occurred_at=when,
                    scheduled_for=None,
                    site=site,
                    product=plan.name,
                    status=Status.COMPLETED,
                    attributes={"period": f"{year}-{month:02d}"},
                    nominal_age=offset + 30 * back,
                )
            )

    # A demo script: reads top to bottom like the story it tells.
    def history(self, rng: random.Random, plan: CustomerPlan) -> None:
        key, persona = plan.key, plan.persona
        vehicle = rng.choice(names.VEHICLES)
        if persona == "dance_family":
            for _ in range(rng.randint(1, 4)):
                self.competition_entry(rng, key)
            for _ in range(rng.randint(1, 4)):
                venue = rng.choice((biz.VENUE, biz.SMALL_VENUE))
                events = biz.VENUE_EVENTS if venue is biz.VENUE else biz.SMALL_VENUE_EVENTS
                self.ticket_booking(
                    rng, key, site=venue, event=rng.choice(events), when=self.past_event_time(rng)
                )
            for _ in range(rng.randint(1, 3)):
                self.shop_order(rng, key, when=self.past(rng, low_days=3, high_days=HISTORY_DAYS))
            if rng.random() < 0.35:
                self.subscription(rng, key, biz.SEASON_PASS, biz.VENUE.code)
        elif persona == "concertgoer":
            for _ in range(rng.randint(3, 8)):
                venue = rng.choice((biz.VENUE, biz.VENUE, biz.SMALL_VENUE))
                events = biz.VENUE_EVENTS if venue is biz.VENUE else biz.SMALL_VENUE_EVENTS
                self.ticket_booking(
                    rng, key, site=venue, event=rng.choice(events), when=self.past_event_time(rng)
                )
            if rng.random() < 0.4:
                self.shop_order(rng, key, when=self.past(rng, low_days=3, high_days=HISTORY_DAYS))
            if rng.random() < 0.3:
                self.subscription(rng, key, biz.SEASON_PASS, biz.VENUE.code)
            if rng.random() < 0.25:
                day = self.local_day(rng.randint(2, 21))
                event = rng.choice(biz.SMALL_VENUE_EVENTS)
                self.ticket_booking(
                    rng, key, site=biz.SMALL_VENUE, event=event, when=self.at(day, 19, 30)
                )
        elif persona == "motorist":
            for _ in range(rng.randint(2, 6)):
                day = self.local_day(-rng.randint(3, HISTORY_DAYS))
                self.workshop_job(rng, key, when=self.at(day, rng.randint(8, 15)), vehicle=vehicle)
            if rng.random() < 0.5:
                self.subscription(rng, key, biz.CARE_PLAN, biz.WORKSHOP.code)
            if rng.random() < 0.3:
                self.shop_order(rng, key, when=self.past(rng, low_days=3, high_days=HISTORY_DAYS))
        elif persona == "shopper":
            for _ in range(rng.randint(3, 8)):
                self.shop_order(rng, key, when=self.past(rng, low_days=3, high_days=HISTORY_DAYS))
        elif persona == "corporate":
            for _ in range(rng.randint(2, 5)):
                hire = rng.choice(biz.EVENT_HIRE)
                site = biz.SMALL_VENUE if hire.name.startswith("Riverside") else biz.VENUE
                when = self.past_event_time(rng)
                self.add(
                    _Txn(
                        customer_key=key,
                        kind=Kind.BOOKING,
                        source=biz.TICKETS_SOURCE,
                        external_id=self.next_id("BK"),
                        amount=_money(rng, hire.low, hire.high),
                        occurred_at=when - timedelta(days=rng.randint(30, 120)),
                        scheduled_for=when,
                        site=site.code,
                        product=hire.name,
                        status=Status.COMPLETED,
                        attributes={"guests": rng.randrange(80, 600, 10)},
                    )
                )
            for _ in range(rng.randint(2, 6)):
                day = self.local_day(-rng.randint(3, HISTORY_DAYS))
                self.workshop_job(
                    rng, key, when=self.at(day, rng.randint(8, 15)), vehicle="2018 Ford Transit"
                )
            day = self.local_day(rng.randint(10, 40))
            self.add(
                _Txn(
                    customer_key=key,
                    kind=Kind.BOOKING,
                    source=biz.TICKETS_SOURCE,
                    external_id=self.next_id("BK"),
                    amount=_money(rng, 6500, 24000),
                    occurred_at=self.past(rng, low_days=20, high_days=90),
                    scheduled_for=self.at(day, 18),
                    site=biz.VENUE.code,
                    product=biz.EVENT_HIRE[0].name,
                    status=Status.CONFIRMED,
                    attributes={"guests": rng.randrange(150, 600, 10)},
                )
            )
        else:  # studio
            for _ in range(rng.randint(3, 6)):
                self.competition_entry(rng, key, amount_scale=rng.randint(10, 30))
            for _ in range(rng.randint(2, 4)):
                self.shop_order(
                    rng,
                    key,
                    when=self.past(rng, low_days=3, high_days=HISTORY_DAYS),
                    scale=rng.randint(5, 12),
                )

    # --- scenarios --------------------------------------------------------------

    def tonight(self, rng: random.Random) -> tuple[datetime, int]:
        """The dance championship's evening sessions, fully booked, tonight at the venue."""
        start = tonight_start(now=self.now)
        families = [c for c in self.customers if c.persona in ("dance_family", "studio")]
        others = [c for c in self.customers if c.persona not in ("dance_family", "studio")]
        rng.shuffle(families)
        rng.shuffle(others)
        chosen = (families + others)[: biz.TONIGHT_MIN_BOOKINGS + len(families) // 4]
        for position, plan in enumerate(chosen):
            session = biz.TONIGHT_SESSIONS[position % 2]
            when = start + timedelta(minutes=90 * (position % 2))
            is_studio = plan.persona == "studio"
            dancers = rng.randint(12, 30) if is_studio else rng.randint(1, 2)
            tickets = rng.randint(0, 4) if not is_studio else 0
            self.add(
                _Txn(
                    customer_key=plan.key,
                    kind=Kind.BOOKING,
                    source=biz.TICKETS_SOURCE,
                    external_id=self.next_id("BK"),
                    amount=_money(rng, 85, 195) * dancers + Decimal(28) * tickets,
                    occurred_at=self.past(rng, low_days=2, high_days=50),
                    scheduled_for=when,
                    site=biz.VENUE.code,
                    product=f"{biz.TONIGHT_EVENT}: {session}",
                    status=Status.CONFIRMED,
                    attributes={
                        "event": biz.TONIGHT_EVENT,
                        "session": session,
                        "dancers": dancers,
                        "spectator_tickets": tickets,
                    },
                )
            )
        return start, len(chosen)

    def workshop_week(self, rng: random.Random) -> int:
        """Appointments over the coming week; most of the next two days are Sam's."""
        motorists = [c for c in self.customers if c.persona in ("motorist", "corporate")]
        rng.shuffle(motorists)
        sams = 0
        for position, plan in enumerate(motorists[: max(12, len(motorists) // 3)]):
            day_offset = position % 7
            day = self.local_day(day_offset)
            if day.weekday() == 6:  # closed on Sundays
                day += timedelta(days=1)
            when = self.at(day, 8 + (position * 3) % 9, (position % 2) * 30)
            if when < self.now + timedelta(minutes=30):
                when += timedelta(days=1)
            soon = when < self.now + timedelta(days=2)
            technician = biz.SICK_TECHNICIAN if soon or position % 3 == 0 else None
            vehicle = rng.choice(names.VEHICLES)
            job = self.workshop_job(
                rng, plan.key, when=when, vehicle=vehicle, technician=technician
            )
            if soon and job.attributes["technician"] == biz.SICK_TECHNICIAN:
                sams += 1
        return sams

    def deliveries_ahead(self, rng: random.Random) -> int:
        buyers = [c for c in self.customers if c.persona in ("shopper", "dance_family", "studio")]
        rng.shuffle(buyers)
        flooded = 0
        for position, plan in enumerate(buyers[: max(15, len(buyers) // 4)]):
            route = biz.FLOOD_ROUTE if position % 3 == 0 else None
            _, delivery = self.shop_order(
                rng,
                plan.key,
                when=self.past(rng, low_days=0, high_days=2),
                route=route,
                upcoming=True,
            )
            if delivery.attributes["route"] == biz.FLOOD_ROUTE:
                flooded += 1
        return flooded

    def past_breakdowns(self, rng: random.Random) -> None:
        """Three bad days in the history, each felt by many customers at once."""
        people = list(self.customers)
        rng.shuffle(people)
        # A power cut at the Grand Hall during a concert, about four months ago.
        event = "Jazz on the Quay"
        show = self.at(self.local_day(-128), 19, 30)
        for plan in people[: max(10, len(people) // 16)]:
            booking = self.ticket_booking(rng, plan.key, site=biz.VENUE, event=event, when=show)
            booking.status = Status.COMPLETED
            booking.attributes["incident"] = "power cut"
            complains = rng.random() < 0.7
            at = show + timedelta(hours=rng.randint(2, 20))
            if self.incident("power-cut", plan, booking, at):
                continue
            if complains:
                subject, body = scripts.PAST_POWER_CUT
                self.thread(
                    rng, plan, booking, subject.format(event=event), body.format(event=event), at=at
                )
        # A flood on the Lower Valley road, about two months ago.
        flood_day = self.local_day(-58)
        buyers = [c for c in people if c.persona in ("shopper", "dance_family", "studio")]
        for plan in buyers[: max(8, len(buyers) // 6)]:
            order, delivery = self.shop_order(
                rng,
                plan.key,
                when=self.at(flood_day - timedelta(days=3), 11),
                route=biz.FLOOD_ROUTE,
            )
            delivery.scheduled_for = self.at(flood_day + timedelta(days=3), 14)
            delivery.attributes["incident"] = "flood"
            complains = rng.random() < 0.6
            at = self.at(flood_day + timedelta(days=2), rng.randint(9, 18))
            if self.incident("flood", plan, delivery, at):
                continue
            if complains:
                subject, body = scripts.PAST_FLOOD
                self.thread(
                    rng,
                    plan,
                    delivery,
                    subject.format(order=order.external_id),
                    body.format(order=order.external_id),
                    at=at,
                )
        # A technician's sick day at the body shop, about three weeks ago.
        sick_day = self.local_day(-24)
        drivers = [c for c in people if c.persona in ("motorist", "corporate")]
        for plan in drivers[: max(5, len(drivers) // 10)]:
            vehicle = rng.choice(names.VEHICLES)
            job = self.workshop_job(
                rng,
                plan.key,
                when=self.at(sick_day, rng.randint(8, 11)),
                vehicle=vehicle,
                technician=biz.SICK_TECHNICIAN,
            )
            job.attributes["incident"] = "technician off sick"
            complains = rng.random() < 0.7
            at = self.at(sick_day, 16, rng.randint(0, 59))
            if self.incident("sick-day", plan, job, at):
                continue
            if complains:
                subject, body = scripts.PAST_SICK_DAY
                self.thread(
                    rng,
                    plan,
                    job,
                    subject.format(vehicle=vehicle),
                    body.format(vehicle=vehicle),
                    at=at,
                )

    def incident(self, name: str, plan: CustomerPlan, txn: _Txn, at: datetime) -> bool:
        """The first few customers a breakdown hit complained, and each got a case.

        Returns False once the breakdown has its cases; whether the others
        wrote in is left to chance.
        """
        taken = self.incidents.setdefault(name, [])
        if len(taken) >= INCIDENT_CASES[name]:
            return False
        taken.append((plan, txn, at))
        return True

    # --- interactions -----------------------------------------------------------

    def author_for(self, txn: _Txn | None, plan: CustomerPlan) -> str:
        if "vip" in plan.tags:
            return "manager"
        site = txn.site if txn else None
        if site == biz.WORKSHOP.code:
            return "tom.becker"
        if site == biz.DEPOT.code:
            return "diego.ramos"
        if site in (biz.VENUE.code, biz.SMALL_VENUE.code):
            return "lead"
        return "agent"

    # A demo script: reads top to bottom like the story it tells.
    def thread(
        self,
        rng: random.Random,
        plan: CustomerPlan,
        txn: _Txn | None,
        subject: str,
        body: str,
        *,
        at: datetime,
        reply: bool = True,
        cliche: float = 0.2,
    ) -> None:
        """A complaint on the customer's channel and, usually, the staff's answer."""
        latest = self.now - timedelta(minutes=30)
        if at > latest:
            return
        self.threads += 1
        ref = f"demo-thread-{self.threads:05d}"
        channel = plan.preferred_channel
        if rng.random() < 0.2:
            channel = rng.choice((Channel.EMAIL, Channel.WEB, Channel.PHONE))
        author = self.author_for(txn, plan)
        staff_first = next(s.first_name for s in biz.STAFF if s.username == author)
        logged_by_staff = channel in (Channel.PHONE, Channel.IN_PERSON)
        if logged_by_staff:
            how = "called" if channel == Channel.PHONE else "came to the desk"
            body = f"{plan.first_name} {how}: {body}"
        self.interactions.append(
            InteractionPlan(
                customer_key=plan.key,
                channel=channel,
                direction=Direction.INBOUND,
                subject=subject,
                body=body,
                occurred_at=at,
                thread_ref=ref,
                author=author if logged_by_staff else None,
                transaction=txn.external_id if txn else None,
            )
        )
        if not reply:
            return
        answered = at + timedelta(minutes=rng.randint(12, 60 * 26))
        if answered > latest:
            return
        template = (
            rng.choice(scripts.CLICHE_REPLIES)
            if rng.random() < cliche
            else rng.choice(scripts.GOOD_REPLIES)
        )
        text = template.format(
            first=plan.first_name if plan.persona not in VIP_PERSONAS else plan.name,
            staff=staff_first,
            issue_short=subject[0].lower() + subject[1:],
            fix=rng.choice(scripts.FIXES),
            prevention=rng.choice(scripts.PREVENTIONS),
        )
        reply_channel = Channel.EMAIL if channel in (Channel.WEB, Channel.SOCIAL) else channel
        if reply_channel == Channel.IN_PERSON:
            reply_channel = Channel.PHONE
        self.interactions.append(
            InteractionPlan(
                customer_key=plan.key,
                channel=reply_channel,
                direction=Direction.OUTBOUND,
                subject=f"Re: {subject}",
                body=text,
                occurred_at=answered,
                thread_ref=ref,
                author=author,
                transaction=txn.external_id if txn else None,
            )
        )
        if template in scripts.GOOD_REPLIES and rng.random() < 0.3:
            thanked = answered + timedelta(hours=rng.randint(1, 30))
            if thanked <= latest:
                self.interactions.append(
                    InteractionPlan(
                        customer_key=plan.key,
                        channel=reply_channel,
                        direction=Direction.INBOUND,
                        subject=f"Re: {subject}",
                        body=rng.choice(scripts.THANKS).format(staff=staff_first),
                        occurred_at=thanked,
                        thread_ref=ref,
                        author=author if reply_channel == Channel.PHONE else None,
                        transaction=txn.external_id if txn else None,
                    )
                )
        if rng.random() < 0.25:
            noted = answered + timedelta(hours=rng.randint(1, 72))
            if noted <= latest:
                note = rng.choice(scripts.PHONE_NOTES).format(
                    first=plan.first_name, subject=subject
                )
                self.interactions.append(
                    InteractionPlan(
                        customer_key=plan.key,
                        channel=Channel.PHONE,
                        direction=Direction.INTERNAL,
                        subject="",
                        body=note,
                        occurred_at=noted,
                        thread_ref=ref,
                        author=author,
                        transaction=txn.external_id if txn else None,
                    )
                )

    def complaint_about(self, rng: random.Random, plan: CustomerPlan, txn: _Txn) -> None:
        pool: Sequence[tuple[str, str]]
        if txn.kind == Kind.APPOINTMENT:
            pool = scripts.WORKSHOP_COMPLAINTS
        elif txn.kind in (Kind.ORDER, Kind.DELIVERY):
            pool = scripts.DEPOT_COMPLAINTS
        elif txn.kind == Kind.SUBSCRIPTION:
            pool = scripts.SUBSCRIPTION_COMPLAINTS
        else:
            pool = scripts.VENUE_COMPLAINTS
        subject, body = rng.choice(pool)
        values = {
            "event": txn.attributes.get("event", txn.product),
            "product": txn.product,
            "vehicle": txn.attributes.get("vehicle", "car"),
            "order": txn.attributes.get("order", txn.external_id),
        }
        moment = txn.scheduled_for or txn.occurred_at
        self.thread(
            rng,
            plan,
            txn,
            subject.format(**values),
            body.format(**values),
            at=moment + timedelta(hours=rng.randint(2, 72)),
        )

    def conversations(self, rng: random.Random, plan: CustomerPlan, chronic: bool) -> None:
        past = [
            t
            for t in self.by_customer.get(plan.key, [])
            if (t.scheduled_for or t.occurred_at) < self.now
        ]
        if not past:
            return
        if chronic:
            for _ in range(rng.randint(7, 12)):
                txn: _Txn | None = rng.choice(past)
                assert txn is not None
                visits = [t for t in past if t.site in (biz.VENUE.code, biz.SMALL_VENUE.code)]
                general = not visits or rng.random() < 0.4
                if general:
                    subject, body = rng.choice(scripts.CHRONIC_GENERAL_COMPLAINTS)
                else:
                    txn = rng.choice(visits)
                    subject, body = rng.choice(scripts.CHRONIC_VENUE_COMPLAINTS)
                values = {"event": txn.attributes.get("event", txn.product), "product": txn.product}
                moment = (txn.scheduled_for or txn.occurred_at) + timedelta(
                    hours=rng.randint(1, 48)
                )
                if general and "{product}" not in body:
                    txn = None  # about the business in general, for customer care to answer
                self.thread(
                    rng,
                    plan,
                    txn,
                    subject.format(**values),
                    body.format(**values),
                    at=moment,
                    cliche=0.35,
                )
                if rng.random() < 0.5:
                    later = moment + timedelta(days=rng.randint(1, 4))
                    self.thread(
                        rng,
                        plan,
                        txn,
                        f"Re: {subject.format(**values)}",
                        rng.choice(scripts.CHRONIC_FOLLOW_UPS),
                        at=later,
                        reply=rng.random() < 0.5,
                    )
            return
        share = 0.45 if "vip" in plan.tags else 0.2
        if rng.random() < share:
            self.complaint_about(rng, plan, rng.choice(past))
        if "old-school" in plan.tags and rng.random() < 0.5:
            subject, body = rng.choice(scripts.OLD_SCHOOL_EMAILS)
            moment = self.past(rng, low_days=5, high_days=HISTORY_DAYS)
            self.interactions.append(
                InteractionPlan(
                    customer_key=plan.key,
                    channel=Channel.EMAIL,
                    direction=Direction.INBOUND,
                    subject=subject,
                    body=body.format(name=plan.name),
                    occurred_at=moment,
                    thread_ref="",
                    author=None,
                    transaction=None,
                )
            )


def demo_plan(
    *, seed: int = DEFAULT_SEED, customers: int = DEFAULT_CUSTOMERS, now: datetime
) -> DemoPlan:
    """Everything the demo business holds, decided from the seed; dates hang off `now`."""
    if customers < 1:
        raise ValueError("the demo needs at least one customer")
    builder = _Builder(seed=seed, count=customers, now=now)
    streams = [random.Random(f"harbourside:{seed}:{i}") for i in range(customers)]
    for index, rng in enumerate(streams):
        builder.customers.append(builder.customer(index, rng))
    for plan, rng in zip(builder.customers, streams, strict=True):
        builder.history(rng, plan)

    scenario_rng = random.Random(f"harbourside:{seed}:scenarios")
    start, tonight = builder.tonight(scenario_rng)
    sams = builder.workshop_week(scenario_rng)
    flooded = builder.deliveries_ahead(scenario_rng)
    builder.past_breakdowns(scenario_rng)

    chatty = [c for c in builder.customers if "vip" not in c.tags]
    scenario_rng.shuffle(chatty)
    chronic = {c.key for c in chatty[: max(3, round(customers * CHRONIC_SHARE))]}
    for plan, rng in zip(builder.customers, streams, strict=True):
        builder.conversations(rng, plan, plan.key in chronic)

    # Chronic complainers are known to staff: say so on their record.
    customers_out = [
        CustomerPlan(
            **{
                **plan.__dict__,
                "tags": tuple(sorted({*plan.tags, "chronic-complainer"})),
                "notes": " ".join(
                    filter(None, [scripts.CHRONIC_NOTES[int(plan.key[2:]) % 2], plan.notes])
                ),
            }
        )
        if plan.key in chronic
        else plan
        for plan in builder.customers
    ]
    builder.interactions.sort(key=lambda i: i.occurred_at)
    cases = plan_cases(builder, seed=seed, chronic=chronic)
    return DemoPlan(
        seed=seed,
        now=builder.now,
        customers=customers_out,
        transactions=[t.as_item() for t in builder.txns],
        interactions=builder.interactions,
        tonight_start=start,
        tonight_bookings=tonight,
        sick_technician_appointments=sams,
        flood_route_deliveries=flooded,
        cases=cases,
    )
