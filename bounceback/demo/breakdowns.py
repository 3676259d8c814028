"""The demo business's past breakdown: the power cut at the Grand Hall, fully played, reviewed.

The story is the one the demo's cases tell (case_plan.power_cut): mains power
failed at 20:40 during "Jazz on the Quay", about four months ago. Here the
staff declared it from the "Power outage at an event" playbook, contacted
every ticket holder before most of them could complain, worked the
checklist, sent an update and the all-clear, linked the complaints that came
in anyway, and wrote the review a week later.

Every step is the real service (breakdowns/services.py, then the case
services for each proactive case's follow-up), run now and moved to its
moment in the story by the backdaters, as the demo's cases are. The
outreach's messages end delivered in the past, like every other demo
message: the demo never sends anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.breakdowns.models import Breakdown, BreakdownAction, ReviewActionItem
from bounceback.breakdowns.services import (
    breakdown_action_complete,
    breakdown_all_clear,
    breakdown_confirm_outreach,
    breakdown_declare,
    breakdown_link_case,
    breakdown_outreach_run,
    breakdown_post_update,
    breakdown_review_save,
    review_action_item_add,
    review_action_item_to_failure_mode,
)
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.services import (
    case_close,
    case_document,
    case_follow_up,
    case_log_customer_message,
    case_record_follow_up,
)
from bounceback.demo import business as biz
from bounceback.demo.backdate import Backdater, BreakdownBackdater
from bounceback.demo.playbooks import POWER_OUTAGE
from bounceback.failuremodes.models import Touchpoint
from bounceback.playbooks.models import Playbook
from bounceback.sites.models import Site
from bounceback.timers.services import timers_fire_due
from bounceback.transactions.models import Transaction

INCIDENT = {"incident": "power cut"}
# Minutes after the show started that mains power failed (the case story's 20:40).
POWER_FAILED = timedelta(minutes=70)

CHECKLIST_NOTES = (
    (9, "lead", "Exits walked with Marta; battery lighting on, nobody hurt, lifts empty."),
    (
        13,
        "manager",
        "Bayport Electric: street fault on Quay Street, no time given. Generator hire on standby.",
    ),
    (15, "lead", "Announced from the stage by megaphone: the PA is off the generator circuit."),
    (31, "manager", "Concert postponed; everyone offered a full refund or the new date."),
    (35, "agent", "Outreach confirmed from the breakdown page; messages going out."),
    (48, "agent", "Website banner and social posts up, pointing at the email."),
)

UPDATE = (
    "Dear {{ customer.first_name }}, an update on the power cut at {{ site.name }}: the "
    "utility has found the fault in the street and tonight's concert is postponed. Your "
    "refund or new date stands; the box office writes with the new date tomorrow."
)
ALL_CLEAR = (
    "Dear {{ customer.first_name }}, power is back at {{ site.name }} and the generator and "
    "public address have been tested. Your refund or new date stands as agreed. Thank you for "
    "bearing with us last night."
)
WENT_WELL = (
    "Everyone with a ticket had our apology, the explanation and the choice of a refund or "
    "the new date within the hour, before most of them were home; the checklist kept the "
    "stage, the utility and the box office working in parallel; nobody was hurt."
)
WENT_BADLY = (
    "The public address amplifier is not on the generator circuit, so the audience sat in "
    "the dark for twenty minutes before the megaphone announcement. Some customers complained "
    "anyway, mostly about that silence, and several waited for a personal call."
)
REPLIES = (
    "Refund please, thank you for letting us know so quickly.",
    "We'll keep the tickets for the new date.",
    "Thanks for the message. Can we have seats near an exit next time?",
)
HAPPY = "Yes, all sorted. The refund arrived and we'll be back for the new date."
UNHAPPY = (
    "The refund came, but sitting in the dark with no announcement was frightening. "
    "I'm not sure we'll come back."
)
FOLLOW_UP = (
    "{first}, we wanted to check that everything is right now after the power cut at the "
    "Grand Hall. Did we put things right for you, and would you come back to us?"
)
ROOT_CAUSE = (
    "A utility fault on Quay Street cut mains power at 20:40; the PA amplifier is on a "
    "non-emergency circuit."
)
WHAT_WAS_DONE = "Proactive apology and explanation, full refund or the rescheduled date."
PREVENTION = "Move the PA onto the generator circuit; megaphone at the stage manager's desk."


def _show(site: Site) -> datetime | None:
    """When the concert the power cut hit began (its bookings carry the incident)."""
    booking = (
        Transaction.objects.filter(site=site, attributes__incident=INCIDENT["incident"])
        .exclude(scheduled_for=None)
        .order_by("scheduled_for")
        .first()
    )
    return booking.scheduled_for if booking else None


# A demo script: reads top to bottom like the story it tells.
def load_past_breakdown(*, customers: dict[str, Any], now: datetime) -> int:
    """Load one past breakdown with its review; returns how many breakdowns."""
    site = Site.objects.get(code=biz.VENUE.code)
    playbook = Playbook.objects.get(name=POWER_OUTAGE)
    show = _show(site)
    if show is None:  # a demo too small to have sold the concert
        return 0
    staff = {
        u.username: u for u in User.objects.filter(username__in=[s.username for s in biz.STAFF])
    }
    cut = show + POWER_FAILED
    history = Backdater()
    bd = BreakdownBackdater()
    declared_at = cut + timedelta(minutes=6)

    breakdown = bd.step(
        declared_at,
        partial(
            breakdown_declare,
            actor=staff["lead"],
            playbook=playbook,
            title="Power cut at the Grand Hall during Jazz on the Quay",
            description="Mains power failed at 20:40 mid-concert; the audience was evacuated "
            "under emergency lighting.",
            severity="high",
            site=site,
            window_start=show - timedelta(minutes=30),
            window_end=show + timedelta(hours=4),
            transaction_filter={"kind": [Transaction.Kind.BOOKING], "attributes": INCIDENT},
        ),
    )
    actions = list(BreakdownAction.objects.filter(breakdown=breakdown).order_by("position", "id"))
    steps: list[tuple[datetime, Any]] = []
    for action, (minutes, who, note) in zip(actions, CHECKLIST_NOTES, strict=False):
        steps.append(
            (
                cut + timedelta(minutes=minutes),
                partial(breakdown_action_complete, action=action, actor=staff[who], note=note),
            )
        )
    confirmed_at = cut + timedelta(minutes=33)
    steps.append(
        (
            confirmed_at,
            partial(breakdown_confirm_outreach, breakdown=breakdown, actor=staff["lead"]),
        )
    )
    steps.append(
        (
            confirmed_at + timedelta(minutes=1),
            partial(breakdown_outreach_run, breakdown_id=breakdown.pk),
        )
    )
    steps.append(
        (
            cut + timedelta(minutes=85),
            partial(breakdown_post_update, breakdown=breakdown, actor=staff["lead"], body=UPDATE),
        )
    )
    steps.sort(key=lambda s: s[0])
    for at, run in steps:
        history.catch_up(until=at)
        bd.step(at, run)

    # The complaints that came in anyway: linked as each was picked up.
    complaints = list(
        Case.objects.filter(
            proactive=False,
            site=site,
            transaction__attributes__incident=INCIDENT["incident"],
        ).order_by("created_at", "pk")
    )
    all_clear_at = _next_morning(cut, hour=10)
    later: list[tuple[datetime, Any]] = [
        (
            all_clear_at,
            partial(
                breakdown_all_clear, breakdown=breakdown, actor=staff["manager"], body=ALL_CLEAR
            ),
        )
    ]
    for case in complaints:
        later.append(
            (
                case.created_at + timedelta(minutes=25),
                partial(breakdown_link_case, breakdown=breakdown, case=case, actor=staff["lead"]),
            )
        )
    later.sort(key=lambda s: s[0])
    for at, run in later:
        history.catch_up(until=at)
        bd.step(at, run)

    breakdown.refresh_from_db()
    _follow_up_proactive_cases(breakdown, history, staff, all_clear_at)
    _review(breakdown, bd, history, staff, playbook, all_clear_at)

    moment = timezone.now()
    history.catch_up(until=moment)
    timers_fire_due(now=moment)
    history.finish(now=moment)
    # Complaints keep their own history; the link is one of its events.
    latest = CaseEvent.objects.filter(case=OuterRef("pk")).order_by("-at", "-id").values("at")
    Case.objects.filter(breakdown=breakdown).update(
        updated_at=Coalesce(Subquery(latest[:1]), "created_at")
    )
    Breakdown.objects.filter(pk=breakdown.pk).update(
        updated_at=Breakdown.objects.get(pk=breakdown.pk).closed_at
    )
    return 1


def _next_morning(at: datetime, *, hour: int) -> datetime:
    local = at.astimezone(_zone())
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, 5, tzinfo=local.tzinfo)


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(biz.TIME_ZONE)


# A demo script: reads top to bottom like the story it tells.
def _follow_up_proactive_cases(
    breakdown: Breakdown, history: Backdater, staff: dict[str, User], fixed_at: datetime
) -> None:
    """Most followed up, answered and closed; a few answered unhappily or not yet at all."""
    cases = list(
        Case.objects.filter(breakdown=breakdown, proactive=True)
        .select_related("customer")
        .order_by("pk")
    )
    last = len(cases) - 1
    for i, case in enumerate(cases):
        handler = staff["agent"] if i % 2 else staff["lead"]
        first = case.customer.name.split()[0]
        at = fixed_at
        script: list[tuple[datetime, str, Any]] = []
        if i % 3 == 0:
            # Some replied to the outreach itself with their choice.
            assert breakdown.confirmed_at is not None
            at = breakdown.confirmed_at + timedelta(minutes=20 + 7 * i)
            script.append(
                (
                    at,
                    "customer",
                    partial(
                        case_log_customer_message,
                        case=case,
                        actor=None,
                        body=REPLIES[i % len(REPLIES)],
                        channel=case.channel,
                    ),
                )
            )
        at = fixed_at + timedelta(hours=26 + (i % 6), minutes=7 * i)
        script.append(
            (
                at,
                "follow_up",
                partial(
                    case_follow_up,
                    case=case,
                    actor=handler,
                    body=FOLLOW_UP.format(first=first),
                    channel=case.channel,
                ),
            )
        )
        mood = (
            "waiting"
            if i % 7 == 5
            else "silent"
            if i % 7 == 6
            else "unhappy"
            if i % 7 == 3
            else "happy"
        )
        if i == last and mood == "happy":
            mood = "unhappy"
        if mood in {"happy", "unhappy"}:
            at += timedelta(hours=3, minutes=11 * (i % 5))
            body = HAPPY if mood == "happy" else UNHAPPY
            script.append(
                (
                    at,
                    "customer",
                    partial(
                        case_log_customer_message,
                        case=case,
                        actor=None,
                        body=body,
                        channel=case.channel,
                    ),
                )
            )
            at += timedelta(minutes=40)
            script.append(
                (
                    at,
                    "record",
                    partial(
                        case_record_follow_up,
                        case=case,
                        actor=handler,
                        satisfied=mood == "happy",
                        will_return=mood == "happy",
                        comment=body,
                        # Refunded and called already: staff accept the answer as it is.
                        reopen_recovery=False,
                    ),
                )
            )
        at += timedelta(hours=2)
        script.append(
            (
                at,
                "document",
                partial(
                    case_document,
                    case=case,
                    actor=handler,
                    root_cause=ROOT_CAUSE,
                    what_was_done=WHAT_WAS_DONE,
                    prevention_idea=PREVENTION,
                ),
            )
        )
        # Still open: no answer yet, and the last unhappy answer waits for a lead's call.
        if mood != "waiting" and i != last:
            script.append(
                (at + timedelta(minutes=30), "close", partial(case_close, case=case, actor=handler))
            )
        for moment, action, run in script:
            history.catch_up(until=moment)
            history.step(case, moment, action, run)


def _review(
    breakdown: Breakdown,
    bd: BreakdownBackdater,
    history: Backdater,
    staff: dict[str, User],
    playbook: Playbook,
    all_clear_at: datetime,
) -> None:
    """Written over the following week: lessons, action items, then completed."""
    manager = staff["manager"]
    drafted = all_clear_at + timedelta(days=3, hours=2)
    reached = breakdown.affected.filter(case__proactive=True).count()
    cost = Decimal("85.00") * reached + Decimal("1450.00")  # refunds and the generator hire
    history.catch_up(until=drafted)
    bd.step(
        drafted,
        partial(
            breakdown_review_save,
            breakdown=breakdown,
            actor=manager,
            went_well=WENT_WELL,
            went_badly=WENT_BADLY,
            actual_cost=cost,
        ),
    )
    mode_item = bd.step(
        drafted + timedelta(minutes=10),
        partial(
            review_action_item_add,
            breakdown=breakdown,
            actor=manager,
            kind=ReviewActionItem.Kind.OTHER,
            text="The PA amplifier is on a non-emergency circuit: no announcement is possible "
            "in a power cut. Add it to the catalog.",
            owner=staff["lead"],
        ),
    )
    touchpoint = Touchpoint.objects.filter(site__code=biz.VENUE.code, name="The event").first()
    if touchpoint is not None:
        bd.step(
            drafted + timedelta(minutes=14),
            partial(
                review_action_item_to_failure_mode,
                item=mode_item,
                actor=manager,
                touchpoint=touchpoint,
                title="No announcement possible during a power cut",
                severity=7,
                occurrence=2,
                detection=6,
            ),
        )
    bd.step(
        drafted + timedelta(minutes=20),
        partial(
            review_action_item_add,
            breakdown=breakdown,
            actor=manager,
            kind=ReviewActionItem.Kind.PLAYBOOK_CHANGE,
            text="Checklist: first action is the megaphone announcement within 5 minutes; "
            "alternatives template: offer seats near an exit for the new date.",
            owner=manager,
            playbook=playbook,
        ),
    )
    completed = all_clear_at + timedelta(days=7)
    history.catch_up(until=completed)
    bd.step(
        completed,
        partial(
            breakdown_review_save,
            breakdown=breakdown,
            actor=manager,
            went_well=WENT_WELL,
            went_badly=WENT_BADLY,
            actual_cost=cost,
            complete=True,
        ),
    )
