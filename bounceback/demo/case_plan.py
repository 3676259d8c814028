"""The demo's cases, planned in memory: who complained, about what, and every step since.

Each `CasePlan` is one service failure and the recovery steps taken on it, in
order, each with the moment it happened and the staff member who took it.
The loader replays the steps through the real case services; the plan only
decides. Cases cover every status of the recovery sequence and the demo's
history: the power cut at the Grand Hall, the flood on the Lower Valley road,
the technician's sick day at the body shop, chronic complainers with several
cases, high-value customers with high severity, and today's live work whose
timers are still counting down.

Dates hang off `now` like the rest of the plan; everything else follows the
seed. Times are offsets from `now`, or from the breakdown they belong to, and
the windows they fall in never overlap, so the order cases were opened in
(and with it their references) is the same whenever the demo is loaded.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bounceback.cases.models import RecoveryPolicy, Severity
from bounceback.cases.policy import DEFAULTS
from bounceback.cases.selectors import SPOKEN
from bounceback.customers.models import Channel
from bounceback.demo import business as biz
from bounceback.demo import case_scripts as cs
from bounceback.transactions.models import Transaction

if TYPE_CHECKING:
    from bounceback.demo.generator import CustomerPlan, _Builder, _Txn

Kind = Transaction.Kind
VENUE_SITES = {biz.VENUE.code, biz.SMALL_VENUE.code}

# How many of each past breakdown's complaints became cases (the rest stayed
# plain conversations on the customer's timeline).
INCIDENT_CASES = {"power-cut": 5, "flood": 5, "sick-day": 4}


@dataclass(frozen=True)
class CaseStep:
    """One thing done on a case: a service call (or a customer's message) at a moment."""

    action: str
    at: datetime
    actor: str | None  # staff username; None for the customer or the system
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CasePlan:
    key: str
    scenario: str
    story: str
    customer_key: str
    transaction: str | None  # external id
    site: str | None
    summary: str
    description: str
    channel: str
    failure_mode: str  # title in the demo catalog
    severity: str
    assignee: str | None
    team: str | None
    opened_by: str | None
    opened_at: datetime
    steps: tuple[CaseStep, ...]
    status: str  # where the steps leave the case

    @property
    def reply_channel(self) -> str:
        return reply_channel(self.channel)


def reply_channel(channel: str) -> str:
    """Phone and desk complaints are answered by phone; everything else by email."""
    return str(Channel.PHONE) if channel in SPOKEN else str(Channel.EMAIL)


@dataclass(frozen=True)
class Targets:
    apologise: timedelta
    fix: timedelta
    update: timedelta
    cool_off: timedelta
    follow_up: timedelta
    document: timedelta


def targets(severity: str) -> Targets:
    """The recovery policy a fresh database starts with (the demo never changes it)."""

    def value(name: str) -> int:
        overrides = DEFAULTS.get(severity, {})
        if name in overrides:
            return overrides[name]
        return int(getattr(RecoveryPolicy._meta.get_field(name), "default", 0))

    return Targets(
        apologise=timedelta(minutes=value("apologise_minutes")),
        fix=timedelta(minutes=value("fix_minutes")),
        update=timedelta(minutes=value("update_minutes")),
        cool_off=timedelta(hours=value("cool_off_hours")),
        follow_up=timedelta(hours=value("follow_up_hours")),
        document=timedelta(hours=value("document_hours")),
    )


class _Draft:
    """A case being written: its facts and its steps so far, with a cursor in time."""

    def __init__(
        self,
        planner: _Planner,
        *,
        key: str,
        scenario: str,
        story: cs.Story,
        customer: CustomerPlan,
        txn: _Txn | None,
        handler: str | None,
        opened_at: datetime,
        severity: str = Severity.NORMAL,
        channel: str | None = None,
        opened_by: str | None = "",
        team: str | None = None,
    ) -> None:
        self.planner = planner
        self.key = key
        self.scenario = scenario
        self.story = story
        self.customer = customer
        self.txn = txn
        self.handler = handler
        self.severity = severity
        self.channel = channel or _complaint_channel(customer)
        self.opened_by = handler if opened_by == "" else opened_by
        self.team = team
        self.opened_at = opened_at.replace(microsecond=0)
        self.targets = targets(severity)
        self.t = self.opened_at
        self.steps: list[CaseStep] = []
        self.status = "new"
        self.apologised_at: datetime | None = None
        self.fixed_at: datetime | None = None
        self.before_wait = ""
        self.updates = 0
        staff = next((s for s in biz.STAFF if s.username == handler), None)
        attributes = txn.attributes if txn else {}
        self.values = {
            "first": customer.first_name,
            "staff": staff.first_name if staff else "The Harbourside team",
            "event": attributes.get("event", txn.product if txn else "your visit"),
            "product": txn.product if txn else "your order",
            "vehicle": attributes.get("vehicle", "car"),
            "order": attributes.get("order", txn.external_id if txn else "your order"),
        }

    # --- helpers ---------------------------------------------------------------

    def fmt(self, text: str) -> str:
        return text.format(**self.values)

    def after(self, low: float, high: float, unit: timedelta = timedelta(minutes=1)) -> datetime:
        """A moment `low` to `high` units after the cursor."""
        return self.t + unit * self.planner.rng.uniform(low, high)

    def add(self, action: str, at: datetime, actor: str | None = None, **values: Any) -> None:
        at = at.replace(microsecond=0)
        if at < self.t:
            raise AssertionError(f"{self.key}: {action} at {at} goes back before {self.t}")
        if at > self.planner.now - timedelta(seconds=30):
            raise AssertionError(f"{self.key}: {action} at {at} is not in the past")
        self.t = at
        self.steps.append(CaseStep(action, at, actor, values))

    @property
    def reply(self) -> str:
        return reply_channel(self.channel)

    # --- the recovery steps ------------------------------------------------------

    def apologise(self, at: datetime, *, cliche: str = "", override_reason: str = "") -> None:
        body = self.fmt(cliche or self.story.apology)
        self.add(
            "apologise",
            at,
            self.handler,
            body=body,
            channel=self.reply,
            override_reason=override_reason,
            cliche=bool(cliche),
        )
        self.apologised_at = self.t
        self.status = "apologised"

    def review(self, at: datetime, *, decide: bool = True) -> None:
        values: dict[str, Any] = {
            "what_went_wrong": self.fmt(self.story.what_went_wrong),
            "impact": self.fmt(self.story.impact),
            "proposed_fix": self.fmt(self.story.proposed_fix),
        }
        if decide:
            values["proposal_accepted"] = True
            values["proposal_response"] = self.fmt(self.story.proposal_response)
        self.add("review", at, self.handler, **values)
        if self.status in ("apologised", "in_review", "fixing"):
            self.status = "fixing" if decide else "in_review"

    def update(self, at: datetime, body: str = "") -> None:
        texts = (*self.story.updates, *cs.GENERIC_UPDATES)
        text = body or texts[min(self.updates, len(texts) - 1)]
        self.updates += 1
        self.add("update", at, self.handler, body=self.fmt(text), channel=self.reply)
        if self.status == "apologised":
            self.status = "fixing"

    def fix(self, at: datetime, *, summary: str = "", message: str = "") -> None:
        self.add(
            "fix",
            at,
            self.handler,
            fix_summary=self.fmt(summary or self.story.fix_summary),
            message=self.fmt(message or self.story.fixed_message),
            channel=self.reply,
        )
        self.fixed_at = self.t
        self.status = "fixed"

    def follow_up(self, at: datetime, *, early_reason: str = "") -> None:
        assert self.fixed_at is not None
        if at < self.fixed_at + self.targets.cool_off and not early_reason:
            raise AssertionError(f"{self.key}: follow-up inside the cool-off needs a reason")
        body = self.fmt(self.planner.rng.choice(cs.FOLLOW_UPS))
        self.add(
            "follow_up",
            self.office_hours(at),
            self.handler,
            body=body,
            channel=self.reply,
            early_reason=early_reason,
        )
        self.status = "following_up"

    def customer_says(self, at: datetime, body: str) -> None:
        """The customer writes or calls. On an open case it is recorded on the case
        (an answer resumes a waiting case); a closed case takes no more messages,
        so then it goes on the customer's timeline, for staff to reopen the case."""
        taker = (self.handler or self.opened_by) if self.channel in SPOKEN else None
        on_case = self.status != "closed"
        self.add("customer", at, taker, body=self.fmt(body), channel=self.channel, on_case=on_case)
        if self.status == "waiting":
            self.status = self.before_wait

    def answer(self, at: datetime, mood: str) -> None:
        """The customer's answer to the follow-up, then staff record it."""
        rng = self.planner.rng
        reopen = True
        if mood == "unhappy":
            comment, satisfied, will_return = self.story.unhappy, False, None
        elif mood == "unhappy_final":
            # Put right twice and still unhappy: staff end the recovery on record.
            comment, satisfied, will_return = self.story.unhappy, False, False
            reopen = False
        elif mood == "grudging":
            comment, satisfied, will_return = rng.choice(cs.GRUDGING_ANSWERS), True, False
        else:
            comment, satisfied, will_return = rng.choice(cs.HAPPY_ANSWERS), True, True
        self.customer_says(at, comment)
        self.add(
            "record",
            self.after(3, 12),
            self.handler,
            satisfied=satisfied,
            will_return=will_return,
            comment=self.fmt(comment),
            reopen_recovery=reopen,
        )
        if not satisfied and reopen:
            self.status = "fixing"
            self.fixed_at = None

    def document(self, at: datetime) -> None:
        self.add(
            "document",
            self.office_hours(at),
            self.handler,
            root_cause=self.fmt(self.story.root_cause),
            what_was_done=self.fmt(self.story.what_was_done),
            prevention_idea=self.fmt(self.story.prevention_idea),
        )

    def close(self, at: datetime) -> None:
        self.add("close", self.office_hours(at), self.handler)
        self.status = "closed"

    def wait(self, at: datetime, reason: str = "") -> None:
        self.add("wait", at, self.handler, reason=self.fmt(reason or self.story.wait_reason))
        self.before_wait = self.status
        self.status = "waiting"

    def reopen(self, at: datetime, reason: str) -> None:
        self.add("reopen", at, self.handler, reason=reason)
        self.status = "fixing"
        self.fixed_at = None

    def link(self, at: datetime, other: _Draft) -> None:
        # Added out of order (after the whole group is planned), so sorted in later.
        self.steps.append(
            CaseStep("link", at.replace(microsecond=0), self.handler, {"to": other.key})
        )

    # --- common shapes -----------------------------------------------------------

    def recover(
        self,
        *,
        apology_at: datetime | None = None,
        late: bool = False,
        slow_update: bool = False,
        cliche: str = "",
        override_reason: str = "",
        updates: int | None = None,
    ) -> datetime:
        """Apologise, review, keep updating on the cadence, fix. Returns when it was fixed."""
        tg = self.targets
        if apology_at is None:
            share = (1.3, 2.6) if late else (0.15, 0.7)
            apology_at = self.after(*share, unit=tg.apologise)
        self.apologise(apology_at, cliche=cliche, override_reason=override_reason)
        self.review(self.after(3, 9))
        count = updates if updates is not None else self.planner.rng.choice((1, 1, 2))
        for i in range(count):
            share = (1.25, 1.7) if slow_update and i == count - 1 else (0.55, 0.9)
            window = tg.fix if i == 0 else tg.update
            # The apology starts the fix clock; each update restarts the update clock.
            since = apology_at if i == 0 else self.t
            self.update(max(self.t, since + window * self.planner.rng.uniform(*share)))
        self.fix(self.after(0.3, 0.85, unit=tg.update))
        return self.t

    def close_out(
        self,
        mood: str = "happy",
        *,
        late_follow_up: bool = False,
        early_reason: str = "",
        documented_early: bool = False,
    ) -> None:
        """Follow up after the cool-off, hear the answer, document, close."""
        assert self.fixed_at is not None
        tg = self.targets
        if early_reason:
            when = self.fixed_at + timedelta(hours=self.planner.rng.uniform(3, 8))
        elif late_follow_up:
            when = self.fixed_at + tg.cool_off + tg.follow_up + timedelta(hours=4)
            when += timedelta(minutes=self.planner.rng.uniform(0, 240))
        else:
            when = self.fixed_at + tg.cool_off + timedelta(hours=self.planner.rng.uniform(1, 16))
        if documented_early:
            self.document(self.after(1, 5, unit=timedelta(hours=1)))
        self.follow_up(when, early_reason=early_reason)
        if mood == "none":
            if not documented_early:
                self.document(self.after(20, 30, unit=timedelta(hours=1)))
            self.close(self.after(5, 40))
            return
        self.answer(self.after(1, 20, unit=timedelta(hours=1)), mood)
        if mood == "unhappy":
            # Back to fixing: a fresh fix clock, an update, the second fix, and round again.
            self.update(self.after(0.3, 0.7, unit=tg.fix))
            self.fix(self.after(0.3, 0.8, unit=tg.update), summary=self.story.second_fix)
            self.follow_up(
                self.fixed_at + tg.cool_off + timedelta(hours=self.planner.rng.uniform(1, 10))
            )
            self.answer(self.after(1, 12, unit=timedelta(hours=1)), "happy")
        if not documented_early:
            self.document(self.after(0.5, 3, unit=timedelta(hours=1)))
        self.close(self.after(5, 30))

    def fixing_now(self, *, last_update_ago: tuple[float, float] = (2, 16)) -> None:
        """Keep updating on the cadence up to a few minutes ago: the update clock is live."""
        assert self.apologised_at is not None
        rng = self.planner.rng
        tg = self.targets
        # Walk back from the latest update on the cadence to the first one, which
        # has to beat the fix clock the apology started.
        moments = [self.planner.now - timedelta(minutes=rng.uniform(*last_update_ago))]
        while moments[-1] > self.apologised_at + tg.fix * 0.9:
            moments.append(moments[-1] - tg.update * rng.uniform(0.7, 0.95))
        for moment in reversed(moments):
            self.update(max(moment, self.t + timedelta(minutes=1)))

    def since_fix(self, low: float, high: float) -> datetime:
        """A moment `low` to `high` hours after the (latest) fix."""
        assert self.fixed_at is not None, f"{self.key} is not fixed"
        return self.fixed_at + timedelta(hours=self.planner.rng.uniform(low, high))

    def office_hours(self, at: datetime) -> datetime:
        """`at`, or when the office opens next if it falls outside 8am to 8pm.

        For the unhurried steps (follow-up, documentation, closing): nobody
        sends a satisfaction survey at 5am. No random draw here, so the plan's
        other choices do not depend on the hour, and never later than now.
        """
        local = at.astimezone(self.planner.b.zone)
        if 8 <= local.hour < 20:
            return at
        day = local.date() + timedelta(days=0 if local.hour < 8 else 1)
        opens = datetime.combine(day, datetime.min.time(), tzinfo=self.planner.b.zone)
        moved = opens + timedelta(hours=8, minutes=at.minute + at.second % 30)
        return moved if moved < self.planner.now - timedelta(minutes=1) else at

    def morning_after(self) -> datetime:
        """Between 8 and 9am at the business, the first morning after the cursor."""
        zone = self.planner.b.zone
        local = self.t.astimezone(zone)
        day = local.date() + timedelta(days=0 if local.hour < 8 else 1)
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        return start + timedelta(minutes=self.planner.rng.uniform(480, 540))

    def finish(self) -> CasePlan:
        steps = sorted(self.steps, key=lambda s: s.at)  # stable: same-moment steps keep order
        txn = self.txn
        return CasePlan(
            key=self.key,
            scenario=self.scenario,
            story=self.story.code,
            customer_key=self.customer.key,
            transaction=txn.external_id if txn else None,
            site=txn.site if txn else None,
            summary=self.fmt(self.story.summary)[:200],
            description=self.fmt(self.story.description),
            channel=self.channel,
            failure_mode=self.story.failure_mode,
            severity=self.severity,
            assignee=self.handler,
            team=self.team,
            opened_by=self.opened_by,
            opened_at=self.opened_at,
            steps=tuple(steps),
            status=self.status,
        )


def _complaint_channel(customer: CustomerPlan) -> str:
    channel = customer.preferred_channel
    return str(Channel.PHONE) if channel == Channel.IN_PERSON else channel


# Everyday complaints by family: the stories, who handles them, and which transactions fit.
FAMILIES: dict[str, tuple[tuple[cs.Story, ...], tuple[str, ...]]] = {
    "venue": ((cs.SOUND, cs.SEATS, cs.DOORS, cs.BOX_OFFICE, cs.PARKING), ("lead", "agent")),
    "workshop": ((cs.PAINT, cs.QUOTE, cs.WARNING_LIGHT, cs.MOVED), ("tom.becker", "sam.okafor")),
    "depot": ((cs.WHERE_IS, cs.WRONG_SIZE, cs.RAIN, cs.DAMAGED), ("diego.ramos", "agent")),
    "billing": ((cs.CHARGED_TWICE, cs.CANCEL), ("agent",)),
}


class _Planner:
    def __init__(self, builder: _Builder, rng: random.Random, chronic: set[str]) -> None:
        self.b = builder
        self.rng = rng
        self.now = builder.now
        self.today = builder.local_day(0)
        self.customers = {c.key: c for c in builder.customers}
        self.chronic = sorted(chronic)
        self.drafts: list[_Draft] = []
        self.used: set[str] = set()
        txns = [t for t in builder.txns if self.age(t) >= 3]
        self.pools: dict[str, list[_Txn]] = {
            "venue": [
                t
                for t in txns
                if t.kind == Kind.BOOKING and t.site in VENUE_SITES and "event" in t.attributes
            ],
            "workshop": [t for t in txns if t.kind == Kind.APPOINTMENT],
            "depot": [t for t in txns if t.kind == Kind.ORDER],
            "billing": [t for t in txns if t.kind == Kind.SUBSCRIPTION],
        }
        self.vip = [c for c in builder.customers if "vip" in c.tags]
        # Each family's stories in a seeded order, taken in turn, so neighbours differ.
        self.stories: dict[str, list[cs.Story]] = {}
        for fam, (stories, _) in FAMILIES.items():
            self.stories[fam] = list(stories)
            rng.shuffle(self.stories[fam])
        self.told: dict[str, int] = {}
        self.ordinary = {
            c.key for c in builder.customers if "vip" not in c.tags and c.key not in chronic
        }

    # --- choosing who and what -------------------------------------------------------
    #
    # Ages are counted in whole local days, the unit the rest of the plan dates
    # its history in, so what is eligible does not depend on the time of day the
    # demo is loaded. Three days' margin keeps the last days' deliveries (whose
    # times do move with the clock) out of every choice.

    def age(self, txn: _Txn) -> int:
        if txn.nominal_age is not None:
            return txn.nominal_age
        moment = txn.scheduled_for or txn.occurred_at
        return (self.today - moment.astimezone(self.b.zone).date()).days

    def oldest_eligible(self, before: datetime) -> int:
        return (self.now - before).days + 3

    def pick(
        self, family: str, *, before: datetime, within_days: int = 45
    ) -> tuple[CustomerPlan, _Txn | None, str]:
        """A customer with a recent transaction of the family, new to the demo's cases if possible.

        Falls back to the other families, then to anyone, so a tiny demo still
        gets every case.
        """
        low = self.oldest_eligible(before)
        order = [family, *[f for f in FAMILIES if f != family]]
        for fresh_only in (True, False):
            for fam in order:
                pool = [
                    t
                    for t in self.pools[fam]
                    if self.age(t) >= low
                    and t.customer_key in self.ordinary
                    and not (fresh_only and t.customer_key in self.used)
                ]
                recent = [t for t in pool if self.age(t) <= low + within_days]
                if recent or pool:
                    txn = self.rng.choice(recent or pool)
                    self.used.add(txn.customer_key)
                    return self.customers[txn.customer_key], txn, fam
        customer = self.rng.choice(sorted(self.customers.values(), key=lambda c: c.key))
        return customer, None, family

    def latest(
        self, customer: CustomerPlan, test: Callable[[_Txn], bool], before: datetime | None
    ) -> _Txn | None:
        """The customer's latest matching transaction settled before `before` (None: any)."""
        low = self.oldest_eligible(before) if before else None
        found = [
            t
            for t in self.b.by_customer.get(customer.key, [])
            if test(t) and (low is None or self.age(t) >= low)
        ]
        return min(found, key=lambda t: (self.age(t), t.external_id)) if found else None

    def everyday(
        self,
        key: str,
        family: str,
        opened_at: datetime,
        *,
        handler: str | None = None,
        assign: bool = True,
        story: cs.Story | None = None,
        **kwargs: Any,
    ) -> _Draft:
        customer, txn, fam = self.pick(family, before=opened_at)
        handlers = FAMILIES[fam][1]
        if not assign:
            handler = None
        elif not handler or fam != family:
            handler = self.rng.choice(handlers)
        return self.draft(
            key=key,
            scenario="everyday",
            story=story if story and fam == family else self.next_story(fam),
            customer=customer,
            txn=txn,
            handler=handler,
            opened_at=opened_at,
            **kwargs,
        )

    def next_story(self, family: str) -> cs.Story:
        told = self.told.get(family, 0)
        self.told[family] = told + 1
        return self.stories[family][told % len(self.stories[family])]

    def draft(self, **kwargs: Any) -> _Draft:
        d = _Draft(self, **kwargs)
        self.drafts.append(d)
        return d

    def ago(self, low: float, high: float, unit: timedelta = timedelta(minutes=1)) -> datetime:
        return self.now - unit * self.rng.uniform(low, high)

    def days_ago(self, low: float, high: float) -> datetime:
        return self.ago(low, high, unit=timedelta(days=1))

    # --- the past breakdowns -----------------------------------------------------------

    def breakdown(self, name: str, story: cs.Story, handlers: Sequence[str]) -> list[_Draft]:
        complaints = sorted(self.b.incidents.get(name, []), key=lambda c: (c[2], c[0].key))
        drafts = []
        for i, (customer, txn, at) in enumerate(complaints[: INCIDENT_CASES[name]]):
            self.used.add(customer.key)
            drafts.append(
                self.draft(
                    key=f"{name}-{i + 1}",
                    scenario=name,
                    story=story,
                    customer=customer,
                    txn=txn,
                    handler=handlers[i % len(handlers)],
                    opened_at=at + timedelta(minutes=self.rng.uniform(2, 12)),
                    # A high-value customer caught in a breakdown gets its shorter timers.
                    severity=Severity.HIGH if "vip" in customer.tags else Severity.NORMAL,
                )
            )
        return drafts

    def link_group(self, drafts: list[_Draft]) -> None:
        """Every later case of the same breakdown is linked to the first one."""
        if not drafts:
            return
        first = min(drafts, key=lambda d: d.opened_at)
        for d in drafts:
            if d is not first:
                d.link(d.opened_at + timedelta(minutes=self.rng.uniform(1, 3)), first)

    def power_cut(self) -> None:
        drafts = self.breakdown("power-cut", cs.POWER_CUT, ("lead", "agent"))
        for i, d in enumerate(drafts):
            if i == 0:
                # Hall evacuated: a holding reply to everyone, with an override; the fix
                # clock breaches overnight and escalates, personal calls next morning.
                d.apologise(
                    d.after(8, 20),
                    cliche=cs.CLICHES[0],
                    override_reason=cs.OVERRIDE_REASONS["power-cut"],
                )
                d.update(d.morning_after())
                d.review(d.after(4, 10))
                d.update(d.after(10, 16))
                d.fix(d.after(6, 15))
                d.close_out("happy")
            elif i == 1:
                d.recover(late=True)
                d.close_out("unhappy")
            elif i == 2:
                d.recover()
                d.close_out("happy")
            elif i == 3:
                d.recover()
                d.close_out("none")
            else:
                d.recover()
                d.close_out("grudging")
        self.link_group(drafts)

    def flood(self) -> None:
        drafts = self.breakdown("flood", cs.FLOOD, ("diego.ramos", "diego.ramos", "agent"))
        for i, d in enumerate(drafts):
            if i == 0:
                d.recover(cliche=cs.CLICHES[1], override_reason=cs.OVERRIDE_REASONS["flood"])
                d.close_out("happy")
            elif i == 1:
                d.recover()
                d.close_out("happy", late_follow_up=True)
            elif i == 2:
                # Closed, then the customer wrote back: reopened, put right again, closed.
                d.recover()
                d.close_out("happy")
                d.customer_says(d.after(2, 4, unit=timedelta(days=1)), cs.REOPEN_MESSAGES["flood"])
                d.reopen(d.after(10, 40), cs.REOPEN_REASONS["flood"])
                d.update(d.after(8, 15))
                d.fix(d.after(6, 15), summary=cs.REOPEN_FIXES["flood"])
                d.close_out("happy", documented_early=True)
            elif i == 3:
                d.recover(slow_update=True, updates=2)
                d.close_out("happy")
            else:
                d.recover()
                d.close_out("unhappy")
        self.link_group(drafts)

    def sick_day(self) -> None:
        handlers = ("tom.becker", "tom.becker", "tom.becker", "sam.okafor")
        drafts = self.breakdown("sick-day", cs.SICK_DAY, handlers)
        for i, d in enumerate(drafts):
            if i == 0:
                d.recover(apology_at=d.opened_at + timedelta(minutes=self.rng.uniform(70, 85)))
                d.close_out("happy")
            elif i == 1:
                d.recover()
                d.close_out("unhappy")
            elif i == 3:
                # Sam, back the next morning, called this customer himself: late, escalated.
                d.recover(apology_at=d.morning_after())
                d.close_out("grudging")
            else:
                d.recover()
                d.close_out("happy")
        self.link_group(drafts)

    # --- the rest of the history ---------------------------------------------------------

    def history(self) -> None:
        # Windows chosen clear of the breakdown days (58 and 24 days ago).
        plans: tuple[tuple[str, tuple[int, int], dict[str, Any], str], ...] = (
            ("venue", (46, 52), {"late": True}, "happy"),
            ("workshop", (38, 45), {}, "grudging"),
            ("depot", (29, 36), {"slow_update": True, "updates": 2}, "happy"),
            ("billing", (17, 21), {}, "none"),
            ("venue", (12, 16), {}, "unhappy"),
            ("workshop", (8, 11), {}, "happy"),
            ("depot", (5, 7), {}, "happy"),
        )
        for i, (family, (low, high), recover, mood) in enumerate(plans):
            d = self.everyday(f"history-{i + 1}", family, self.days_ago(low, high))
            d.recover(**recover)
            d.close_out(mood)

    def chronic_complainers(self) -> None:
        """Three regulars who write often: patience, every point answered, all documented."""

        def goes_to_shows(person: CustomerPlan) -> bool:
            return any(
                t.site in VENUE_SITES and "event" in t.attributes
                for t in self.b.by_customer.get(person.key, [])
            )

        people = [self.customers[k] for k in self.chronic]
        self.rng.shuffle(people)
        people.sort(key=lambda c: not goes_to_shows(c))  # stable: concert-goers first
        if not people:
            people = [c for c in self.customers.values() if "vip" not in c.tags][:3]
        if not people:
            return
        people = (people * 3)[:3]

        def visit(person: CustomerPlan, before: datetime) -> _Txn | None:
            show = self.latest(person, lambda t: "event" in t.attributes, before)
            return show or self.latest(person, lambda t: True, before)

        def case(i: int, letter: str, story: cs.Story, opened: datetime) -> _Draft:
            person = people[i]
            self.used.add(person.key)
            return self.draft(
                key=f"chronic-{i + 1}{letter}",
                scenario="chronic",
                story=story,
                customer=person,
                txn=None if story is cs.STILL_WAITING else visit(person, opened),
                handler="agent",
                opened_at=opened,
                severity=Severity.LOW,
                team="Customer care",
            )

        # The first: put right twice and still not happy; closed with that on record.
        a1 = case(0, "a", cs.TOO_COLD, self.days_ago(40, 44))
        a1.recover()
        a1.follow_up(a1.since_fix(26, 30))
        a1.answer(a1.after(2, 8, unit=timedelta(hours=1)), "unhappy")
        a1.update(a1.after(0.3, 0.7, unit=a1.targets.fix))
        a1.fix(a1.after(0.3, 0.8, unit=a1.targets.update), summary=cs.TOO_COLD.second_fix)
        a1.follow_up(a1.since_fix(26, 30))
        a1.answer(a1.after(2, 8, unit=timedelta(hours=1)), "unhappy_final")
        a1.document(a1.after(30, 40, unit=timedelta(hours=1)))
        a1.close(a1.after(5, 20))
        a2 = case(0, "b", cs.LATE_START, self.days_ago(3, 3.4))
        a2.recover()
        a2.follow_up(a2.t + timedelta(hours=self.rng.uniform(26, 30)))
        a2.document(self.ago(10, 20, unit=timedelta(hours=1)))
        a3 = case(0, "c", cs.STILL_WAITING, self.ago(8, 15))

        # The second: asked for one-liners only (a cliché with an override), then more.
        b1 = case(1, "a", cs.INVOICE, self.days_ago(31, 34))
        b1.recover(cliche=cs.CLICHES[0], override_reason=cs.OVERRIDE_REASONS["chronic"])
        b1.close_out("none")
        b2 = case(1, "b", cs.STILL_WAITING, self.days_ago(2, 2.5))
        b2.apologise(b2.after(20, 90))
        b2.review(b2.after(5, 15), decide=False)
        b2.wait(b2.after(2, 8))
        b3 = case(1, "c", cs.TOO_COLD, self.ago(21, 23, unit=timedelta(hours=1)))
        b3.recover(apology_at=b3.after(40, 90))

        # The third: sometimes pleased, usually not.
        c1 = case(2, "a", cs.LATE_START, self.days_ago(37, 39))
        c1.recover()
        c1.close_out("happy")
        c2 = case(2, "b", cs.TOO_COLD, self.days_ago(3, 3.5))
        c2.apologise(c2.after(30, 120))
        c2.review(c2.after(5, 15), decide=False)
        c2.wait(c2.after(2, 8), "Asked which evening and which seats, to check the heating log")
        c3 = case(2, "c", cs.INVOICE, self.ago(80, 100))
        c3.apologise(self.ago(25, 35))

        for group in ((a1, a2, a3), (b1, b2, b3), (c1, c2, c3)):
            for earlier, later in itertools.pairwise(group):
                if earlier.customer.key == later.customer.key:
                    later.link(later.opened_at + timedelta(minutes=self.rng.uniform(1, 5)), earlier)

    # A demo script: reads top to bottom like the story it tells.
    def vip_customers(self) -> None:
        """High-value customers: high severity, the manager in charge, short timers."""
        corporates = [c for c in self.vip if c.persona == "corporate"] or self.vip
        studios = [c for c in self.vip if c.persona == "studio"] or self.vip
        if not corporates and not studios:
            return
        corporates = corporates or studios
        studios = studios or corporates
        hire = lambda t: t.product in {p.name for p in biz.EVENT_HIRE}  # noqa: E731
        tonight = lambda t: "session" in t.attributes  # noqa: E731
        workshop = lambda t: t.kind == Kind.APPOINTMENT  # noqa: E731
        order = lambda t: t.kind == Kind.ORDER  # noqa: E731

        def case(
            key: str, who: CustomerPlan, story: cs.Story, txn: _Txn | None, **kw: Any
        ) -> _Draft:
            self.used.add(who.key)
            kw.setdefault("handler", "manager")
            kw.setdefault("severity", Severity.HIGH)
            return self.draft(key=key, scenario="vip", story=story, customer=who, txn=txn, **kw)

        first = corporates[0]
        opened = self.days_ago(18, 20)
        v1 = case("vip-1", first, cs.GALA_AV, self.latest(first, hire, opened), opened_at=opened)
        v1.recover()
        v1.close_out("happy", early_reason=cs.EARLY_REASONS[0])

        fleet = corporates[1 % len(corporates)]
        opened = self.ago(70, 85)
        v2 = case(
            "vip-2",
            fleet,
            cs.FLEET_VAN,
            self.latest(fleet, workshop, self.now),
            opened_at=opened,
            handler="tom.becker",
            channel=Channel.PHONE,
        )
        v2.apologise(v2.after(6, 14))
        v2.review(v2.after(3, 6))
        v2.fixing_now()

        booked = [c for c in studios + self.vip if self.latest(c, tonight, None)]
        studio = booked[0] if booked else studios[0]
        opened = self.ago(3, 5)
        v3 = case(
            "vip-3",
            studio,
            cs.WRONG_SESSION,
            self.latest(studio, tonight, None),
            opened_at=opened,
            severity=Severity.CRITICAL,
            channel=Channel.PHONE,
            opened_by="agent",
        )
        del v3  # just opened: the ten-minute apology clock is running

        costume = next((c for c in studios if c.key != studio.key), studios[0])
        opened = self.ago(26, 30, unit=timedelta(hours=1))
        v4 = case(
            "vip-4",
            costume,
            cs.COSTUMES,
            self.latest(costume, order, opened),
            opened_at=opened,
            channel=Channel.EMAIL,
        )
        v4.apologise(v4.after(8, 20))
        v4.review(v4.after(3, 8))
        v4.update(v4.after(5, 12))
        v4.wait(v4.after(3, 10))

        deposit = corporates[2 % len(corporates)]
        opened = self.ago(66, 70, unit=timedelta(hours=1))
        v5 = case(
            "vip-5",
            deposit,
            cs.HIRE_DEPOSIT,
            self.latest(deposit, hire, None),
            opened_at=opened,
            channel=Channel.EMAIL,
        )
        v5.recover()
        v5.document(v5.after(2, 6, unit=timedelta(hours=1)))
        v5.follow_up(v5.since_fix(25, 28))

    # --- today's work: every status, some timers about to fire ---------------------------------

    # A demo script: reads top to bottom like the story it tells.
    def current(self) -> None:
        hours = timedelta(hours=1)
        # New: two just in (one on the team's queue, nobody assigned yet), two overdue.
        self.everyday(
            "new-1", "venue", self.ago(5, 9), assign=False, team="Customer care",
            opened_by=None, channel=Channel.WEB,
        )  # fmt: skip
        self.everyday("new-2", "depot", self.ago(20, 30), handler="diego.ramos")
        self.everyday("new-3", "workshop", self.ago(150, 170), handler="tom.becker")
        self.everyday("new-4", "billing", self.ago(4.5, 5.5, unit=hours), handler="agent")

        # Apologised: fix clocks running, one long overdue.
        d = self.everyday("apologised-1", "venue", self.ago(30, 40), handler="lead")
        d.apologise(self.ago(4, 8))
        d = self.everyday("apologised-2", "depot", self.ago(45, 55), handler="agent")
        d.apologise(self.ago(10, 14))
        d = self.everyday("apologised-3", "workshop", self.ago(110, 125), handler="sam.okafor")
        d.apologise(self.ago(65, 75))

        # In review: the customer's view captured, their proposal not yet decided.
        d = self.everyday("review-1", "venue", self.ago(40, 50), handler="agent")
        d.apologise(self.ago(20, 24))
        d.review(self.ago(14, 17), decide=False)
        d.update(self.ago(4, 8))
        d = self.everyday("review-2", "workshop", self.ago(28, 34), handler="tom.becker")
        d.apologise(self.ago(12, 16))
        d.review(self.ago(4, 7), decide=False)
        d = self.everyday("review-3", "depot", self.ago(170, 190), handler="diego.ramos")
        d.apologise(self.ago(155, 165))
        d.review(self.ago(140, 150), decide=False)

        # Fixing, with progress updates on the 20-minute cadence.
        d = self.everyday("fixing-1", "venue", self.ago(65, 80), handler="lead")
        d.apologise(d.after(6, 15))
        d.review(d.after(3, 6))
        d.fixing_now()
        d = self.everyday("fixing-2", "depot", self.ago(50, 60), handler="agent")
        d.apologise(d.after(5, 12))
        d.review(d.after(3, 6))
        d.fixing_now()
        d = self.everyday("fixing-3", "billing", self.ago(90, 100), handler="agent")
        d.apologise(d.after(5, 12))
        d.review(d.after(3, 6))
        d.fixing_now(last_update_ago=(24, 30))  # one update missed: breached a few minutes ago
        # Closed last week, then the problem came back this morning: reopened.
        d = self.everyday(
            "fixing-4", "workshop", self.days_ago(9, 10), handler="tom.becker",
            story=cs.WARNING_LIGHT,
        )  # fmt: skip
        d.recover()
        d.close_out("happy")
        d.customer_says(self.ago(55, 60), cs.REOPEN_MESSAGES["default"])
        d.reopen(self.ago(45, 50), cs.REOPEN_REASONS["default"])
        d.update(self.ago(30, 34))
        d.update(self.ago(12, 16))
        # Fixed three days ago, but the follow-up found the customer unhappy.
        d = self.everyday("fixing-5", "venue", self.days_ago(3, 3.3), handler="agent")
        d.recover()
        d.follow_up(d.since_fix(25, 30))
        d.answer(self.ago(26, 30), "unhappy")
        d.update(d.after(8, 12))
        # Waited on the customer for an address; they answered, the clock runs again.
        d = self.everyday(
            "fixing-6", "depot", self.ago(26, 30, unit=hours), handler="diego.ramos",
            story=cs.WHERE_IS,
        )  # fmt: skip
        d.apologise(d.after(10, 25))
        d.review(d.after(3, 6))
        d.update(d.after(8, 14))
        d.wait(d.after(3, 8))
        d.customer_says(self.ago(14, 16), d.story.wait_reply)  # the answer resumes the clocks
        d.update(d.after(4, 8))

        # Fixed: inside the cool-off, and past it with the follow-up due or overdue.
        for key, family, handler, fixed_hours_ago, documented in (
            ("fixed-1", "venue", "agent", (4, 6), False),
            ("fixed-2", "depot", "diego.ramos", (15, 18), False),
            ("fixed-3", "workshop", "tom.becker", (29, 32), False),
            ("fixed-4", "billing", "agent", (36, 40), True),
            ("fixed-5", "venue", "lead", (52, 55), False),
        ):
            fixed_at = self.ago(*fixed_hours_ago, unit=hours)
            d = self.everyday(key, family, fixed_at - timedelta(minutes=90), handler=handler)
            d.recover()
            if documented:
                d.document(d.after(2, 4, unit=hours))

        # Following up: the survey is out, the answer not in yet.
        for key, family, handler, fixed_hours_ago, documented in (
            ("follow-1", "workshop", "tom.becker", (48, 52), False),
            ("follow-2", "depot", "agent", (44, 47), True),
        ):
            fixed_at = self.ago(*fixed_hours_ago, unit=hours)
            d = self.everyday(key, family, fixed_at - timedelta(minutes=80), handler=handler)
            d.recover()
            if documented:
                d.document(d.after(1, 3, unit=hours))
            d.follow_up(d.since_fix(25, 27))

        # Waiting on the customer: every running clock paused.
        d = self.everyday(
            "waiting-1", "workshop", self.ago(44, 50, unit=hours), handler="tom.becker",
            story=cs.PAINT,
        )  # fmt: skip
        d.apologise(d.after(10, 30))
        d.review(d.after(3, 8), decide=False)
        d.wait(d.after(2, 6))
        d = self.everyday(
            "waiting-2", "depot", self.ago(5, 6, unit=hours), handler="agent", story=cs.WRONG_SIZE
        )
        d.apologise(d.after(8, 20))
        d.review(d.after(3, 6))
        d.update(d.after(8, 14))
        d.wait(d.after(3, 8))
        d = self.everyday(
            "waiting-3", "venue", self.ago(24, 28, unit=hours), handler="lead", story=cs.SEATS
        )
        d.apologise(d.after(10, 30))
        d.review(d.after(3, 8))
        d.update(d.after(8, 14))
        d.wait(d.after(3, 8))

        # Closed this week.
        for key, family, days in (
            ("closed-1", "venue", (6, 6.5)),
            ("closed-2", "billing", (5, 5.5)),
        ):
            d = self.everyday(key, family, self.days_ago(*days))
            d.recover()
            d.close_out("happy")


def plan_cases(builder: _Builder, *, seed: int, chronic: set[str]) -> list[CasePlan]:
    """Every case of the demo, oldest first (the order they are opened in)."""
    planner = _Planner(builder, random.Random(f"harbourside:{seed}:cases"), chronic)
    planner.power_cut()
    planner.flood()
    planner.sick_day()
    planner.history()
    planner.chronic_complainers()
    planner.vip_customers()
    planner.current()
    order = sorted(range(len(planner.drafts)), key=lambda i: (planner.drafts[i].opened_at, i))
    return [planner.drafts[i].finish() for i in order]
