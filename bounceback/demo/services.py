"""Loading the demo business into the database.

Everything goes through the same services real data goes through (site,
team, user and customer creation, the bulk transaction upsert, interaction
logging, and every step of the case recovery sequence), so the demo obeys
every rule the product enforces and shows what an integration would produce.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.services import (
    team_create,
    user_create,
    user_set_team,
    user_set_time_zone,
)
from bounceback.cases.models import Case
from bounceback.customers.models import Customer, CustomerExternalId
from bounceback.customers.services import ExternalIdentity, customer_create
from bounceback.dashboards.services import conversations_refresh, loyalty_figures_refresh
from bounceback.demo import business as biz
from bounceback.demo.breakdowns import load_past_breakdown
from bounceback.demo.case_load import CaseTally, load_cases
from bounceback.demo.catalog import load_catalog
from bounceback.demo.discovery import load_discovery
from bounceback.demo.drills import load_drills
from bounceback.demo.funds import load_funds
from bounceback.demo.generator import DEFAULT_CUSTOMERS, DEFAULT_SEED, DemoPlan, demo_plan
from bounceback.demo.learning import load_learning
from bounceback.demo.loyalty import load_loyalty_story
from bounceback.demo.mail import load_mail
from bounceback.demo.playbooks import load_playbooks
from bounceback.demo.portal import load_portal
from bounceback.demo.replies import load_replies
from bounceback.demo.segments import load_segments
from bounceback.demo.webhooks import load_webhooks
from bounceback.errors import Conflict, ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import interaction_log
from bounceback.mail.models import InboundEmail
from bounceback.sites.models import Site
from bounceback.sites.services import site_create
from bounceback.transactions.models import Transaction
from bounceback.transactions.services import transactions_upsert

CHUNK = 1000
MAX_CUSTOMERS = 20_000


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    name: str
    title: str


@dataclass
class DemoSummary:
    seed: int
    sites: list[Site]
    customers: int
    transactions: int
    interactions: int
    staff: int
    teams: int
    vip: int
    chronic: int
    old_school: int
    scheduled_ahead: int
    tonight_start: datetime
    tonight_bookings: int
    sick_technician_appointments: int
    flood_route_deliveries: int
    seconds: float
    cases: CaseTally = field(default_factory=CaseTally)
    case_scenarios: dict[str, int] = field(default_factory=dict)
    failure_modes: int = 0
    playbooks: int = 0
    breakdowns: int = 0
    emails: int = 0
    held_emails: int = 0


def demo_logins() -> list[DemoLogin]:
    """The published demo staff logins, every role covered."""
    return [DemoLogin(s.username, s.password, str(s.role), s.full_name, s.title) for s in biz.STAFF]


def demo_logins_present() -> list[DemoLogin]:
    """The demo logins whose user exists in this database."""
    present = set(
        User.objects.filter(username__in=[s.username for s in biz.STAFF]).values_list(
            "username", flat=True
        )
    )
    return [login for login in demo_logins() if login.username in present]


def demo_blockers() -> list[str]:
    """What is already in the database that the demo would mix or collide with."""
    found = []
    customers = Customer.objects.count()
    if customers:
        found.append(f"{customers} customers")
    transactions = Transaction.objects.count()
    if transactions:
        found.append(f"{transactions} transactions")
    usernames = sorted(
        User.objects.filter(username__in=[s.username for s in biz.STAFF]).values_list(
            "username", flat=True
        )
    )
    if usernames:
        found.append(f"users named {', '.join(usernames)}")
    codes = sorted(
        Site.objects.filter(code__in=[s.code for s in biz.SITES]).values_list("code", flat=True)
    )
    if codes:
        found.append(f"sites {', '.join(codes)}")
    return found


def _load_staff() -> None:
    users = {
        spec.username: user_create(
            username=spec.username,
            password=spec.password,
            role=spec.role,
            email=f"{spec.first_name.lower()}.{spec.last_name.lower()}@staff.example.com",
            first_name=spec.first_name,
            last_name=spec.last_name,
        )
        for spec in biz.STAFF
    }
    teams = {
        spec.name: team_create(
            name=spec.name,
            description=spec.description,
            lead=users[spec.lead] if spec.lead else None,
        )
        for spec in biz.TEAMS
    }
    for spec in biz.STAFF:
        user_set_team(user=users[spec.username], team=teams[spec.team], actor=None)
        # Staff work on the business's clock whatever the server's TIME_ZONE is (each
        # chooses their own zone, so the demo sets it as them).
        person = users[spec.username]
        user_set_time_zone(user=person, time_zone=biz.TIME_ZONE, actor=person)


def _load_customers(plan: DemoPlan) -> dict[str, Customer]:
    by_key = {}
    for item in plan.customers:
        by_key[item.key] = customer_create(
            name=item.name,
            emails=item.emails,
            phones=item.phones,
            external_ids=[ExternalIdentity(source=biz.CRM_SOURCE, external_id=item.key)],
            preferred_channel=item.preferred_channel,
            locale=item.locale,
            time_zone=item.time_zone,
            notes=item.notes,
            tags=item.tags,
        )
    return by_key


def _load_transactions(plan: DemoPlan) -> int:
    stored = 0
    for start in range(0, len(plan.transactions), CHUNK):
        result = transactions_upsert(
            items=plan.transactions[start : start + CHUNK], default_source=biz.TICKETS_SOURCE
        )
        if result.errors:
            # The plan is ours; a rejected item is a bug in the generator, and
            # half a demo would only confuse, so stop and undo everything.
            first = result.errors[0]
            item = plan.transactions[start + first.index]
            raise ValidationFailed(
                f"demo transaction {item['external_id']} was refused: {first.message}",
                field=first.field,
            )
        stored += len(result.stored)
    return stored


def _load_interactions(plan: DemoPlan, customers: dict[str, Customer]) -> int:
    staff = {
        u.username: u for u in User.objects.filter(username__in=[s.username for s in biz.STAFF])
    }
    for item in plan.interactions:
        interaction_log(
            customer=customers[item.customer_key],
            channel=item.channel,
            direction=item.direction,
            body=item.body,
            author=staff[item.author] if item.author else None,
            subject=item.subject,
            occurred_at=item.occurred_at,
            thread_ref=item.thread_ref,
            source="demo",
            metadata={"transaction": item.transaction} if item.transaction else None,
        )
    return len(plan.interactions)


# Long on purpose: the demo business, loaded in the order its parts depend on each other.
def demo_load(
    *,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    now: datetime | None = None,
) -> DemoSummary:
    """Load Harbourside Events & Services into an empty database, all or nothing.

    Refuses when the database already holds customers, transactions, or the
    demo's users or sites: the demo never mixes with real data and never
    deletes anything.
    """
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValidationFailed(
            f"the demo loads between 1 and {MAX_CUSTOMERS} customers, not {customers}",
            field="customers",
        )
    began = clock.monotonic()
    now = now or timezone.now()
    plan = demo_plan(seed=seed, customers=customers, now=now)
    with transaction.atomic():
        blockers = demo_blockers()
        if blockers:
            raise Conflict(
                "The demo loads only into an empty database, so it never mixes with real "
                f"data; this one already has {'; '.join(blockers)}. Nothing was changed.",
                code="not_empty",
            )
        sites = [
            site_create(
                code=s.code, name=s.name, kind=s.kind, address=s.address, time_zone=biz.TIME_ZONE
            )
            for s in biz.SITES
        ]
        _load_staff()
        by_key = _load_customers(plan)
        stored = _load_transactions(plan)
        _load_interactions(plan, by_key)
        # The catalog first: the demo's cases are linked to its failure modes.
        failure_modes = load_catalog()
        playbooks = load_playbooks()
        cases = load_cases(plan.cases, by_key)
        breakdowns = load_past_breakdown(customers=by_key, now=plan.now)
        # Channels: received email (one thread, an out-of-office, one held for a
        # person), a report from the public form, an SMS channel and a webhook.
        load_mail()
        load_portal()
        load_webhooks()
        # Empowerment: segments over the customers and cases now loaded, then
        # the funds (a segment's tier lifts limits, so segments come first).
        load_segments()
        load_funds()
        # Working together: the team's canned replies.
        load_replies()
        # Loyalty: repeat purchases that follow how each recovery went (generated).
        load_loyalty_story(now=plan.now, seed=seed)
        # Discovery: its rules open cases for customers now in their segments.
        load_discovery(now=plan.now)
        # Learning last: vectors and themes over every case, discovery's included;
        # a merged duplicate, problem records.
        load_learning(now=plan.now)
        # Drills after everything else: the library from the catalog and playbooks, a
        # past drill with its debrief (its cases are sandboxed: no report counts
        # them), and the month's scheduled drills.
        load_drills(now=plan.now)
        emails = InboundEmail.objects.count()
        held = InboundEmail.objects.filter(state=InboundEmail.State.HELD).count()
        # The past breakdown's outreach opened cases of its own: they are in the inbox too.
        cases.by_status = dict(Counter(Case.objects.values_list("status", flat=True)))
        # The timeline: the history's conversations and every message on the cases.
        logged = Interaction.objects.count()
        # Dashboards: first response times from those conversations, and the revenue
        # kept, as the worker's clock would work them out within its first minutes.
        conversations_refresh(now=plan.now)
        loyalty_figures_refresh(now=plan.now)
    tags = Counter(tag for c in plan.customers for tag in c.tags)
    return DemoSummary(
        seed=seed,
        sites=sites,
        customers=len(by_key),
        transactions=stored,
        interactions=logged,
        staff=len(biz.STAFF),
        teams=len(biz.TEAMS),
        vip=tags["vip"],
        chronic=tags["chronic-complainer"],
        old_school=tags["old-school"],
        scheduled_ahead=sum(
            1 for t in plan.transactions if t["scheduled_for"] and t["scheduled_for"] > plan.now
        ),
        tonight_start=plan.tonight_start,
        tonight_bookings=plan.tonight_bookings,
        sick_technician_appointments=plan.sick_technician_appointments,
        flood_route_deliveries=plan.flood_route_deliveries,
        seconds=clock.monotonic() - began,
        cases=cases,
        case_scenarios=dict(Counter(c.scenario for c in plan.cases)),
        failure_modes=failure_modes,
        playbooks=playbooks,
        breakdowns=breakdowns,
        emails=emails,
        held_emails=held,
    )


def demo_is_loaded() -> bool:
    """Whether this database holds the demo business (its CRM ids are present)."""
    return CustomerExternalId.objects.filter(source=biz.CRM_SOURCE).exists()
