"""Drills: scenarios, running a drill (live or tabletop), scoring, debrief, schedules.

Rules for callers:
- A drill's injects become real rows in the sandbox: a synthetic customer
  (`customer_create(drill=...)`) and a case opened through `case_open`, which
  copies the customer's drill onto the case. From there participants work the
  case in the normal pages; every message to the customer is captured by the
  outbox, and no webhook, report, segment or balance sees it.
- Delivery is idempotent: each inject row is delivered once, under the
  drill's row lock, and `Drill.next_inject_at` is the only column the clock
  reads (`drill_injects_run_due`).
- Every change a person makes is audited (`audit_record`, target `drill:<id>`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceback.actors import Actor, ActorLike, actor_of
from bounceback.customers.models import Channel
from bounceback.drills.models import (
    Drill,
    DrillAction,
    DrillInject,
    DrillLogEntry,
    DrillParticipant,
    DrillSchedule,
    DrillScore,
    ImprovementItem,
    Persona,
    Rating,
    Scenario,
    ScenarioInject,
)
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.inputs import choice_field, text_field

if TYPE_CHECKING:
    from bounceback.accounts.models import Team, User
    from bounceback.cases.models import Case
    from bounceback.failuremodes.models import FailureMode
    from bounceback.playbooks.models import Playbook, PlaybookVersion

MANAGE = "drills.add_drill"
RUN = "drills.change_drill"
DRILL_LABEL = "Drill"
INJECTS_MAX = 30
# A schedule's drill is opened (as scheduled) this long before it is due.
SCHEDULE_LEAD = timedelta(days=7)
OFFSET_MAX = 24 * 60


def _audit(action: str, drill: Drill | None, actor: ActorLike, data: dict[str, Any]) -> None:
    from bounceback.audit.services import audit_record

    audit_record(
        action=action,
        actor=actor,
        target=f"drill:{drill.pk}" if drill is not None else "drills",
        data=data,
    )


def _require(actor: ActorLike, permission: str, doing: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden(f"your role may not {doing}")


# --- Scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InjectInput:
    """One inject as written by a person or the generator."""

    customer_name: str
    summary: str
    message: str
    offset_minutes: int = 0
    persona: str = Persona.ORDINARY
    channel: str = Channel.EMAIL
    language: str = "en"
    expected_response: str = ""
    acknowledge_minutes: int = 5
    apologise_minutes: int = 15


# Channels a synthetic customer can be reached on inside the sandbox: each
# gets an address, so replies are captured rather than refused.
INJECT_CHANNELS = (Channel.EMAIL, Channel.WEB, Channel.SMS, Channel.CHAT, Channel.SOCIAL)


def _minutes(value: Any, *, field: str, low: int = 0, high: int = OFFSET_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _clean_injects(injects: Sequence[InjectInput]) -> list[InjectInput]:
    if not injects:
        raise ValidationFailed("a scenario needs at least one inject", field="injects")
    if len(injects) > INJECTS_MAX:
        raise ValidationFailed(f"at most {INJECTS_MAX} injects", field="injects")
    clean = []
    for i, row in enumerate(injects):
        at = f"injects[{i}]"
        clean.append(
            InjectInput(
                customer_name=text_field(
                    row.customer_name, field=f"{at}.customer_name", max_length=200, required=True
                ),
                summary=text_field(
                    row.summary, field=f"{at}.summary", max_length=200, required=True
                ),
                message=text_field(row.message, field=f"{at}.message", required=True),
                offset_minutes=_minutes(row.offset_minutes, field=f"{at}.offset_minutes"),
                persona=choice_field(row.persona, field=f"{at}.persona", choices=Persona.values),
                channel=choice_field(
                    row.channel, field=f"{at}.channel", choices=[str(c) for c in INJECT_CHANNELS]
                ),
                language=text_field(row.language, field=f"{at}.language", max_length=20) or "en",
                expected_response=text_field(
                    row.expected_response, field=f"{at}.expected_response"
                ),
                acknowledge_minutes=_minutes(
                    row.acknowledge_minutes, field=f"{at}.acknowledge_minutes", low=1, high=1440
                ),
                apologise_minutes=_minutes(
                    row.apologise_minutes, field=f"{at}.apologise_minutes", low=1, high=1440
                ),
            )
        )
    return clean


def _write_injects(scenario: Scenario, injects: list[InjectInput]) -> None:
    ordered = sorted(enumerate(injects), key=lambda pair: (pair[1].offset_minutes, pair[0]))
    ScenarioInject.objects.bulk_create(
        [
            ScenarioInject(
                scenario=scenario,
                position=position,
                offset_minutes=row.offset_minutes,
                persona=row.persona,
                customer_name=row.customer_name,
                channel=row.channel,
                language=row.language,
                summary=row.summary,
                message=row.message,
                expected_response=row.expected_response,
                acknowledge_minutes=row.acknowledge_minutes,
                apologise_minutes=row.apologise_minutes,
            )
            for position, (_, row) in enumerate(ordered)
        ]
    )


def scenario_create(
    *,
    actor: ActorLike,
    playbook: Playbook,
    title: str,
    injects: Sequence[InjectInput],
    description: str = "",
    generated: bool = False,
) -> Scenario:
    """A scenario for `playbook` with its injects (ordered by offset).

    Refuses a duplicate title for the playbook, an archived playbook, and any
    inject without a customer, summary or message (the field names the inject).
    """
    _require(actor, MANAGE, "write drill scenarios")
    title = text_field(title, field="title", max_length=200, required=True)
    description = text_field(description, field="description")
    if playbook is None:
        raise ValidationFailed("choose the playbook to practise", field="playbook_id")
    if playbook.archived:
        raise ValidationFailed("that playbook is archived", field="playbook_id")
    clean = _clean_injects(injects)
    try:
        with transaction.atomic():
            scenario = Scenario.objects.create(
                playbook=playbook,
                failure_mode=playbook.failure_mode,
                title=title,
                description=description,
                generated=generated,
            )
            _write_injects(scenario, clean)
            _audit("drill_scenario_created", None, actor, {"scenario": scenario.pk, "title": title})
    except IntegrityError:
        raise Conflict(
            f"{playbook} already has a scenario called {title!r}", field="title", code="duplicate"
        ) from None
    return scenario


@transaction.atomic
def scenario_update(
    *,
    scenario: Scenario,
    actor: ActorLike,
    title: str | None = None,
    description: str | None = None,
    injects: Sequence[InjectInput] | None = None,
) -> Scenario:
    """Edit a scenario; new `injects` replace the old ones (drills already started keep
    their own copy). Refuses what scenario_create refuses."""
    _require(actor, MANAGE, "edit drill scenarios")
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    fields = []
    if title is not None:
        title = text_field(title, field="title", max_length=200, required=True)
        clash = Scenario.objects.filter(playbook_id=scenario.playbook_id, title=title)
        if clash.exclude(pk=scenario.pk).exists():
            raise Conflict(
                f"this playbook already has a scenario called {title!r}",
                field="title",
                code="duplicate",
            )
        scenario.title = title
        fields.append("title")
    if description is not None:
        scenario.description = text_field(description, field="description")
        fields.append("description")
    if injects is not None:
        clean = _clean_injects(injects)
        scenario.injects.all().delete()
        _write_injects(scenario, clean)
    scenario.generated = False
    scenario.save(update_fields=[*fields, "generated", "updated_at"])
    _audit(
        "drill_scenario_updated",
        None,
        actor,
        {"scenario": scenario.pk, "fields": fields, "injects": injects is not None},
    )
    return scenario


def _generated_injects(playbook: Playbook, mode: FailureMode | None) -> list[InjectInput]:
    """The four personas against the failure mode, from the playbook's own words."""
    what = (mode.title if mode else playbook.breakdown_type or playbook.name).rstrip(".")
    effect = (mode.effect if mode and mode.effect else what).rstrip(".")
    apology = ""
    refund = ""
    version = playbook.current
    if version is not None:
        template = next(
            (t for t in version.templates.all() if t.purpose == "apology" and t.language == "en"),
            None,
        )
        apology = template.body[:300] if template else ""
        offer = next(iter(version.compensations.all()), None)
        if offer is not None:
            refund = f"{offer.get_kind_display()} of {offer.amount} {offer.currency}"
    expect_apology = "A personal apology that owns the failure, says what happens next"
    if apology:
        expect_apology += f" (the playbook's apology: “{apology[:160]}”)"
    return [
        InjectInput(
            customer_name="Morgan Reyes",
            persona=Persona.CHRONIC,
            offset_minutes=0,
            channel=Channel.EMAIL,
            summary=f"Again! {what}",
            message=(
                f"This is the THIRD time. {effect}. I have complained before and nothing "
                "changes. I expect a proper answer today, not another form letter."
            ),
            expected_response=expect_apology + "; patience, no blame, updates every 20 minutes.",
            acknowledge_minutes=5,
            apologise_minutes=15,
        ),
        InjectInput(
            customer_name="Dana Whitfield",
            persona=Persona.VIP,
            offset_minutes=3,
            channel=Channel.EMAIL,
            summary=f"{what}: our long-standing account is affected",
            message=(
                f"We have been customers for eleven years. {effect}, and my team is waiting. "
                "Please call me or tell me who is handling this."
            ),
            expected_response=(
                "Senior handling at once, a named owner, apology within 10 minutes"
                + (f", the pre-approved gesture ({refund})" if refund else "")
                + "."
            ),
            acknowledge_minutes=3,
            apologise_minutes=10,
        ),
        InjectInput(
            customer_name="Lucía Fernández",
            persona=Persona.SPANISH,
            offset_minutes=6,
            channel=Channel.EMAIL,
            language="es",
            summary=f"Problema: {what}",
            message=(
                "Hola, he tenido un problema con su servicio y nadie me ha respondido. "
                "¿Pueden decirme qué ha pasado y cuándo se solucionará?"
            ),
            expected_response="An apology in Spanish (or a clear note why not), the same targets.",
            acknowledge_minutes=5,
            apologise_minutes=15,
        ),
        InjectInput(
            customer_name="Sam Okafor",
            persona=Persona.REFUND,
            offset_minutes=9,
            channel=Channel.EMAIL,
            summary=f"Full refund demanded after {what.lower()}",
            message=(
                f"{effect}. I want a full refund of everything I paid this year, today, "
                "or I will post about it everywhere."
            ),
            expected_response=(
                "Apologise and offer what policy allows"
                + (f" ({refund})" if refund else "")
                + "; a bigger refund only through an approval, never as an exception."
            ),
            acknowledge_minutes=5,
            apologise_minutes=15,
        ),
    ]


def drills_library_generate(*, actor: ActorLike, threshold: int | None = None) -> list[Scenario]:
    """At least one scenario for every high-risk failure mode, from each of its live
    playbooks; returns the scenarios written now (a second run writes none)."""
    from bounceback.failuremodes.selectors import DEFAULT_RPN_THRESHOLD, coverage

    _require(actor, MANAGE, "generate drill scenarios")
    made = []
    report = coverage(threshold=threshold or DEFAULT_RPN_THRESHOLD)
    for row in report.rows:
        if not row.high_risk:
            continue
        for playbook in row.playbooks:
            if Scenario.objects.filter(playbook=playbook, failure_mode=row.mode).exists():
                continue
            made.append(
                scenario_create(
                    actor=actor,
                    playbook=playbook,
                    title=f"{row.mode.title}: four customers at once",
                    description=(
                        f"Generated from the catalog (RPN {row.mode.rpn}). A chronic "
                        "complainer, a VIP, a customer writing in Spanish and one "
                        "demanding a refund the policy does not allow, three minutes apart."
                    ),
                    injects=_generated_injects(playbook, row.mode),
                    generated=True,
                )
            )
    return made


# --- Drills -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantInput:
    user: User
    role: str = DrillParticipant.Role.RESPONDER


def drill_create(
    *,
    actor: ActorLike,
    scenario: Scenario,
    mode: str = Drill.Mode.LIVE,
    title: str = "",
    facilitator: User | None = None,
    team: Team | None = None,
    participants: Sequence[ParticipantInput] = (),
    scheduled_for: datetime | None = None,
    schedule: DrillSchedule | None = None,
) -> Drill:
    """A drill of `scenario` in state scheduled; start it with drill_start.

    The facilitator defaults to the person creating it. Refuses an unknown
    mode, an archived playbook, inactive participants and a person listed twice.
    """
    _require(actor, MANAGE, "set up drills")
    if scenario is None:
        raise ValidationFailed("choose a scenario", field="scenario_id")
    mode = choice_field(mode, field="mode", choices=Drill.Mode.values)
    title = text_field(title, field="title", max_length=200) or f"Drill: {scenario.title}"[:200]
    playbook = scenario.playbook
    if playbook.archived:
        raise ValidationFailed("that scenario's playbook is archived", field="scenario_id")
    seen: set[int] = set()
    for i, p in enumerate(participants):
        if p.role not in DrillParticipant.Role.values:
            raise ValidationFailed(
                f"role must be one of {', '.join(DrillParticipant.Role.values)}",
                field=f"participants[{i}].role",
            )
        if not p.user.is_active:
            raise ValidationFailed(f"{p.user} is disabled", field=f"participants[{i}].user_id")
        if p.user.pk in seen:
            raise ValidationFailed(f"{p.user} is listed twice", field=f"participants[{i}].user_id")
        seen.add(p.user.pk)
    who = actor_of(actor)
    with transaction.atomic():
        drill = Drill.objects.create(
            title=title,
            scenario=scenario,
            playbook=playbook,
            mode=mode,
            team=team,
            facilitator=facilitator or who.user,
            scheduled_for=scheduled_for,
            schedule=schedule,
            created_by=who.user,
        )
        DrillParticipant.objects.bulk_create(
            [DrillParticipant(drill=drill, user=p.user, role=p.role) for p in participants]
        )
        _audit("drill_created", drill, actor, {"title": title, "mode": mode})
    return drill


def _lock(drill: Drill) -> Drill:
    return (
        Drill.objects.select_for_update(of=("self",))
        .select_related("scenario", "playbook__current", "playbook__failure_mode")
        .get(pk=drill.pk)
    )


def _require_running(drill: Drill) -> None:
    if drill.state != Drill.State.RUNNING:
        raise Conflict(
            f"this drill is {drill.get_state_display().lower()}, not running",
            code="invalid_transition",
        )


def _milestone(drill: Drill, text: str, *, at: datetime, actor: ActorLike = None) -> None:
    DrillLogEntry.objects.create(
        drill=drill,
        kind=DrillLogEntry.Kind.MILESTONE,
        text=text,
        author=actor_of(actor).user,
        at=at,
    )


def drill_participant_add(
    *, drill: Drill, actor: ActorLike, user: User, role: str = DrillParticipant.Role.RESPONDER
) -> DrillParticipant:
    """Add someone to a drill not yet ended (joining a running drill is allowed)."""
    _require(actor, RUN, "change drills")
    role = choice_field(role, field="role", choices=DrillParticipant.Role.values)
    if not user.is_active:
        raise ValidationFailed(f"{user} is disabled", field="user_id")
    with transaction.atomic():
        drill = _lock(drill)
        if drill.state in (Drill.State.ENDED, Drill.State.CANCELLED):
            raise Conflict("this drill is over", code="invalid_transition")
        participant, made = DrillParticipant.objects.get_or_create(
            drill=drill, user=user, defaults={"role": role}
        )
        if not made and participant.role != role:
            participant.role = role
            participant.save(update_fields=["role"])
        _audit("drill_participant_added", drill, actor, {"user": user.pk, "role": role})
    return participant


def drill_start(*, drill: Drill, actor: ActorLike, now: datetime | None = None) -> Drill:
    """Start a scheduled drill: copy the scenario's injects and the playbook's checklist,
    then (live) let the clock deliver injects from now, or (tabletop) wait for steps.

    A live drill delivers its injects due at once (offset 0) in this call.
    Refuses a drill that is not scheduled or a scenario without injects.
    """
    _require(actor, RUN, "start drills")
    now = now or timezone.now()
    with transaction.atomic():
        drill = _lock(drill)
        if drill.state != Drill.State.SCHEDULED:
            raise Conflict(
                f"this drill is {drill.get_state_display().lower()}; only a scheduled drill starts",
                code="invalid_transition",
            )
        injects = list(drill.scenario.injects.all())
        if not injects:
            raise Conflict("the scenario has no injects", field="scenario_id")
        live = drill.mode == Drill.Mode.LIVE
        DrillInject.objects.bulk_create(
            [
                DrillInject(
                    drill=drill,
                    position=i,
                    due_at=now + timedelta(minutes=row.offset_minutes) if live else None,
                    persona=row.persona,
                    customer_name=row.customer_name,
                    channel=row.channel,
                    language=row.language,
                    summary=row.summary,
                    message=row.message,
                    expected_response=row.expected_response,
                    acknowledge_minutes=row.acknowledge_minutes,
                    apologise_minutes=row.apologise_minutes,
                )
                for i, row in enumerate(injects)
            ]
        )
        version = drill.playbook.current
        if version is not None:
            DrillAction.objects.bulk_create(
                [
                    DrillAction(
                        drill=drill,
                        position=a.position,
                        title=a.title,
                        owner_role=a.owner_role,
                        target_minutes=a.target_minutes,
                    )
                    for a in version.actions.all()
                ]
            )
        drill.state = Drill.State.RUNNING
        drill.started_at = now
        drill.next_inject_at = now if live else None
        drill.save(update_fields=["state", "started_at", "next_inject_at"])
        _milestone(drill, f"Drill started ({drill.mode})", at=now, actor=actor)
        _audit("drill_started", drill, actor, {"mode": drill.mode})
        if live:
            _deliver_due(drill, now=now)
    return drill


def _responders(drill: Drill) -> list[User]:
    rows = drill.participants.select_related("user").filter(
        role=DrillParticipant.Role.RESPONDER, user__is_active=True
    )
    return [p.user for p in rows.order_by("id")]


def _fictional_phone(drill: Drill, inject: DrillInject) -> str:
    """A number no real person has (NANP's 555-0100 to 555-0199, reserved for
    fiction), not yet held by another customer: phone numbers are unique."""
    from bounceback.customers.models import CustomerPhone

    start = drill.pk * 100 + inject.position
    for step in range(800 * 100):
        n = (start + step) % (800 * 100)
        number = f"+1{200 + n // 100:03d}555{100 + n % 100:04d}"
        if not CustomerPhone.objects.filter(number=number).exists():
            return number
    raise Conflict("Every fictional phone number is taken; delete old drills' customers.")


def _deliver(drill: Drill, inject: DrillInject, *, now: datetime) -> Case:
    """Make the inject's customer and open their case, in the sandbox. The caller holds
    the drill's lock and has checked the inject is undelivered."""
    from bounceback.cases.services import case_open
    from bounceback.customers.services import customer_create
    from bounceback.interactions.models import Interaction
    from bounceback.interactions.services import interaction_log

    address = f"drill-{drill.pk}-{inject.position}@drill.invalid"
    customer = customer_create(
        name=inject.customer_name,
        emails=[address],
        phones=[_fictional_phone(drill, inject)] if inject.channel == Channel.SMS else [],
        preferred_channel=inject.channel,
        locale=inject.language,
        notes=f"Synthetic customer of drill {drill.pk} ({inject.get_persona_display()}).",
        tags=["drill", inject.persona],
        drill=drill,
    )
    responders = _responders(drill)
    assignee = responders[inject.position % len(responders)] if responders else None
    system = Actor.system(DRILL_LABEL)
    mode = drill.playbook.failure_mode
    accepted = mode is not None and mode.status == mode.Status.ACCEPTED
    case = case_open(
        customer=customer,
        summary=inject.summary,
        description=inject.message,
        channel=inject.channel,
        failure_mode=mode if accepted else None,
        assignee=assignee,
        team=drill.team if assignee is None else None,
        actor=system,
        opened_at=now,
    )
    interaction_log(
        customer=customer,
        case=case,
        channel=inject.channel,
        direction=Interaction.Direction.INBOUND,
        body=inject.message,
        subject=inject.summary,
        author=system,
        author_name=inject.customer_name,
        # A clock running a little ahead must not write a message from the future.
        occurred_at=min(now, timezone.now()),
        source="drill",
        thread_ref=case.reference or "",
        metadata={"sender": address, "drill": drill.pk},
    )
    inject.delivered_at = now
    inject.customer = customer
    inject.case = case
    inject.save(update_fields=["delivered_at", "customer", "case"])
    _milestone(
        drill,
        f"Inject {inject.position + 1} arrived: {inject.customer_name} "
        f"({inject.get_persona_display()}), case {case.reference}",
        at=now,
    )
    return case


def _deliver_due(drill: Drill, *, now: datetime) -> int:
    due = list(
        drill.injects.filter(delivered_at__isnull=True, due_at__lte=now).order_by("position")
    )
    for inject in due:
        _deliver(drill, inject, now=now)
    nxt = (
        drill.injects.filter(delivered_at__isnull=True, due_at__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    Drill.objects.filter(pk=drill.pk).update(next_inject_at=nxt)
    drill.next_inject_at = nxt
    return len(due)


def drill_injects_run_due(*, now: datetime | None = None) -> int:
    """The clock's work: deliver every live drill's injects that are due; returns how many.

    One indexed query when nothing is due. Each drill is handled under its row
    lock, re-read, so two clocks never deliver an inject twice.
    """
    now = now or timezone.now()
    ids = list(
        Drill.objects.filter(state=Drill.State.RUNNING, next_inject_at__lte=now).values_list(
            "pk", flat=True
        )[:50]
    )
    done = 0
    for pk in ids:
        with transaction.atomic():
            drill = _lock(Drill(pk=pk))
            if drill.state != Drill.State.RUNNING or drill.mode != Drill.Mode.LIVE:
                continue
            done += _deliver_due(drill, now=now)
    return done


def drill_step(*, drill: Drill, actor: ActorLike, now: datetime | None = None) -> DrillInject:
    """Tabletop: the facilitator brings in the next inject now. Refuses when none is left
    or the drill is not running (a live drill may also be stepped ahead of its clock)."""
    _require(actor, RUN, "run drills")
    now = now or timezone.now()
    with transaction.atomic():
        drill = _lock(drill)
        _require_running(drill)
        inject = drill.injects.filter(delivered_at__isnull=True).order_by("position").first()
        if inject is None:
            raise Conflict("every inject has been brought in; end the drill", code="no_injects")
        _deliver(drill, inject, now=now)
        if drill.mode == Drill.Mode.LIVE:
            _deliver_due(drill, now=now)
        _audit("drill_stepped", drill, actor, {"inject": inject.position})
    return inject


def _require_taking_part(drill: Drill, who: Actor) -> None:
    if who.may(RUN) or drill.participants.filter(user=who.user).exists():
        return
    raise Forbidden("only the drill's participants and those who run drills may do this")


def drill_log_add(
    *,
    drill: Drill,
    actor: ActorLike,
    text: str,
    kind: str = DrillLogEntry.Kind.DECISION,
    inject: DrillInject | None = None,
) -> DrillLogEntry:
    """The scribe logs a decision or observation; refused once the drill is over."""
    who = actor_of(actor)
    text = text_field(text, field="text", max_length=2000, required=True)
    kind = choice_field(
        kind, field="kind", choices=[DrillLogEntry.Kind.DECISION, DrillLogEntry.Kind.NOTE]
    )
    if inject is not None and inject.drill_id != drill.pk:
        raise ValidationFailed("that inject belongs to another drill", field="inject_id")
    with transaction.atomic():
        drill = _lock(drill)
        _require_running(drill)
        _require_taking_part(drill, who)
        return DrillLogEntry.objects.create(
            drill=drill, kind=kind, text=text, inject=inject, author=who.user
        )


def drill_action_done(
    *, action: DrillAction, actor: ActorLike, now: datetime | None = None
) -> DrillAction:
    """Tick a checklist action of a running drill (once); the time counts against its target.
    Participants and those who run drills may."""
    who = actor_of(actor)
    now = now or timezone.now()
    with transaction.atomic():
        drill = _lock(action.drill)
        _require_running(drill)
        _require_taking_part(drill, who)
        action = DrillAction.objects.select_for_update().get(pk=action.pk)
        if action.done_at is not None:
            raise Conflict("this action is already done", code="already_done")
        action.done_at = now
        action.done_by = who.user
        action.save(update_fields=["done_at", "done_by"])
        _milestone(drill, f"Checklist: {action.title} done", at=now, actor=actor)
    return action


def drill_end(*, drill: Drill, actor: ActorLike, now: datetime | None = None) -> Drill:
    """End a running drill: stop its injects, measure and rate every objective (per
    responder and for the team), keep the readiness score and write the debrief;
    then close its cases (case_close_drill), so they leave every inbox.
    """
    from bounceback.drills.debrief import debrief_build
    from bounceback.drills.scoring import drill_measure

    _require(actor, RUN, "end drills")
    now = now or timezone.now()
    with transaction.atomic():
        drill = _lock(drill)
        _require_running(drill)
        drill.state = Drill.State.ENDED
        drill.ended_at = now
        drill.next_inject_at = None
        _milestone(drill, "Drill ended", at=now, actor=actor)
        measured = drill_measure(drill, now=now)
        DrillScore.objects.filter(drill=drill).delete()
        DrillScore.objects.bulk_create(measured.scores)
        drill.readiness = measured.readiness
        drill.debrief = debrief_build(drill, now=now)
        drill.save(update_fields=["state", "ended_at", "next_inject_at", "readiness", "debrief"])
        # Scored and debriefed: now its cases leave the inboxes and stop escalating.
        _close_cases(drill, actor=actor, reason="the drill ended")
        for item in drill.debrief.get("suggested_improvements", []):
            ImprovementItem.objects.create(
                drill=drill,
                kind=item["kind"],
                text=item["text"],
                owner=drill.facilitator,
                due_on=(now + timedelta(days=14)).date(),
            )
        _audit("drill_ended", drill, actor, {"readiness": drill.readiness})
    return drill


def _close_cases(drill: Drill, *, actor: ActorLike, reason: str) -> None:
    from bounceback.cases.models import Case
    from bounceback.cases.services import case_close_drill

    for case in Case.objects.filter(drill=drill).exclude(status=Case.Status.CLOSED).order_by("id"):
        case_close_drill(case=case, actor=actor, reason=reason)


def drill_cancel(*, drill: Drill, actor: ActorLike, reason: str) -> Drill:
    """Call off a scheduled or running drill; it keeps no score and its cases close."""
    _require(actor, RUN, "cancel drills")
    reason = text_field(reason, field="reason", max_length=500, required=True)
    with transaction.atomic():
        drill = _lock(drill)
        if drill.state in (Drill.State.ENDED, Drill.State.CANCELLED):
            raise Conflict("this drill is already over", code="invalid_transition")
        drill.state = Drill.State.CANCELLED
        drill.next_inject_at = None
        drill.ended_at = timezone.now()
        drill.save(update_fields=["state", "next_inject_at", "ended_at"])
        _milestone(drill, f"Drill cancelled: {reason}", at=drill.ended_at, actor=actor)
        _close_cases(drill, actor=actor, reason=f"the drill was cancelled: {reason}")
        _audit("drill_cancelled", drill, actor, {"reason": reason})
    return drill


def drill_score_adjust(
    *, score: DrillScore, actor: ActorLike, rating: str, reason: str
) -> DrillScore:
    """The facilitator sets an objective's rating (P/S/M/U) with a reason; the measured
    rating stays beside it, the change is audited and the readiness recomputed."""
    from bounceback.drills.scoring import readiness_of

    _require(actor, RUN, "adjust drill ratings")
    rating = choice_field(
        (rating or "").upper() if isinstance(rating, str) else rating,
        field="rating",
        choices=[r.lower() for r in Rating.values],
    ).upper()
    reason = text_field(reason, field="reason", max_length=1000, required=True)
    with transaction.atomic():
        drill = _lock(score.drill)
        if drill.state != Drill.State.ENDED:
            raise Conflict("ratings are adjusted after the drill ends", code="invalid_transition")
        score = DrillScore.objects.select_for_update().get(pk=score.pk)
        before = score.rating
        score.rating = rating
        score.adjusted_reason = reason
        score.adjusted_by = actor_of(actor).user
        score.adjusted_at = timezone.now()
        score.save(update_fields=["rating", "adjusted_reason", "adjusted_by", "adjusted_at"])
        team = list(DrillScore.objects.filter(drill=drill, user__isnull=True))
        drill.readiness = readiness_of(team)
        drill.save(update_fields=["readiness"])
        _audit(
            "drill_score_adjusted",
            drill,
            actor,
            {
                "objective": score.objective,
                "user": score.user_id,
                "rating": [before, rating],
                "reason": reason,
            },
        )
    return score


# --- Improvement plan ---------------------------------------------------------------------


def improvement_add(
    *,
    drill: Drill,
    actor: ActorLike,
    text: str,
    kind: str = ImprovementItem.Kind.TRAINING,
    owner: User | None = None,
    due_on: date | None = None,
) -> ImprovementItem:
    """Add an item to an ended drill's improvement plan."""
    _require(actor, RUN, "plan improvements")
    text = text_field(text, field="text", max_length=2000, required=True)
    kind = choice_field(kind, field="kind", choices=ImprovementItem.Kind.values)
    if drill.state != Drill.State.ENDED:
        raise Conflict("the improvement plan follows the debrief: end the drill first")
    item = ImprovementItem.objects.create(
        drill=drill, kind=kind, text=text, owner=owner, due_on=due_on
    )
    _audit("drill_improvement_added", drill, actor, {"item": item.pk, "kind": kind})
    return item


def improvement_apply(*, item: ImprovementItem, actor: ActorLike) -> ImprovementItem:
    """Turn an item into what it asks for: a revision of the drill's playbook (its
    checklist gains the item as an action) or a failure-mode proposal at the
    playbook's touchpoint, through those apps' services; a training item is
    simply marked done. Refuses an item already done."""
    from bounceback.failuremodes.services import failure_mode_propose
    from bounceback.playbooks.services import ActionInput, content_of, playbook_revise

    with transaction.atomic():
        item = ImprovementItem.objects.select_for_update().select_related("drill").get(pk=item.pk)
        if item.state == ImprovementItem.State.DONE:
            raise Conflict("this item is done already", code="already_done")
        drill = item.drill
        playbook = drill.playbook
        version: PlaybookVersion | None = None
        if item.kind == ImprovementItem.Kind.PLAYBOOK_REVISION:
            if playbook.current is None:
                raise Conflict("the playbook has no version to revise")
            content = content_of(playbook.current)
            role = item.owner.role if item.owner is not None else "lead"
            content = dataclasses.replace(
                content,
                actions=[
                    *content.actions,
                    ActionInput(title=item.text[:200], owner_role=role, target_minutes=30),
                ],
                change_note=f"From the debrief of drill {drill.pk}: {item.text}"[:300],
            )
            version = playbook_revise(playbook=playbook, actor=actor, content=content)
            item.playbook_version = version
        elif item.kind == ImprovementItem.Kind.FAILURE_MODE:
            mode = playbook.failure_mode
            if mode is None:
                raise Conflict(
                    "the playbook has no failure mode, so no touchpoint to propose one at",
                    field="kind",
                )
            item.failure_mode = failure_mode_propose(
                actor=actor,
                touchpoint=mode.touchpoint,
                title=item.text[:160],
                description=f"Found in the debrief of drill {drill.pk}.",
                severity=mode.severity,
                occurrence=mode.occurrence,
                detection=mode.detection,
            )
        item.state = ImprovementItem.State.DONE
        item.save(update_fields=["state", "playbook_version", "failure_mode"])
        _audit("drill_improvement_applied", drill, actor, {"item": item.pk, "kind": item.kind})
    return item


# --- Schedules ----------------------------------------------------------------------------


def drill_schedule_create(
    *,
    actor: ActorLike,
    playbook: Playbook,
    next_at: datetime,
    every_days: int = 30,
    team: Team | None = None,
    facilitator: User | None = None,
    mode: str = Drill.Mode.LIVE,
) -> DrillSchedule:
    """Drill `playbook` every `every_days` from `next_at`; the clock opens each drill
    (scheduled, for that moment) when due. One schedule per playbook and team."""
    _require(actor, MANAGE, "schedule drills")
    every_days = _minutes(every_days, field="every_days", low=1, high=366)
    mode = choice_field(mode, field="mode", choices=Drill.Mode.values)
    if playbook.archived:
        raise ValidationFailed("that playbook is archived", field="playbook_id")
    try:
        with transaction.atomic():
            schedule = DrillSchedule.objects.create(
                playbook=playbook,
                team=team,
                facilitator=facilitator or actor_of(actor).user,
                every_days=every_days,
                mode=mode,
                next_at=next_at,
            )
            _audit(
                "drill_schedule_created",
                None,
                actor,
                {"schedule": schedule.pk, "playbook": playbook.pk, "every_days": every_days},
            )
    except IntegrityError:
        raise Conflict(
            f"{playbook} already has a schedule for that team", field="playbook_id"
        ) from None
    return schedule


def drill_schedules_ensure_high_risk(
    *, actor: ActorLike, every_days: int = 30, now: datetime | None = None
) -> list[DrillSchedule]:
    """A monthly (by default) schedule for every live playbook of a high-risk failure
    mode that has none yet; returns those made now."""
    from bounceback.failuremodes.selectors import coverage

    now = now or timezone.now()
    made = []
    for row in coverage().rows:
        if not row.high_risk:
            continue
        for playbook in row.playbooks:
            if DrillSchedule.objects.filter(playbook=playbook).exists():
                continue
            made.append(
                drill_schedule_create(
                    actor=actor,
                    playbook=playbook,
                    next_at=now + timedelta(days=7),
                    every_days=every_days,
                )
            )
    return made


def drill_schedules_run_due(*, now: datetime | None = None) -> int:
    """The clock's work: open the drill of every schedule due within SCHEDULE_LEAD (so
    people see it coming), scheduled for the schedule's moment, and move the
    schedule on. Idempotent: the schedule row is locked and moved in one go."""
    now = now or timezone.now()
    horizon = now + SCHEDULE_LEAD
    ids = list(
        DrillSchedule.objects.filter(active=True, next_at__lte=horizon).values_list(
            "pk", flat=True
        )[:50]
    )
    opened = 0
    for pk in ids:
        with transaction.atomic():
            schedule = (
                DrillSchedule.objects.select_for_update(of=("self",))
                .select_related("playbook", "scenario", "facilitator", "team")
                .filter(pk=pk, active=True, next_at__lte=horizon)
                .first()
            )
            if schedule is None:
                continue
            scenario = schedule.scenario or (
                Scenario.objects.filter(playbook=schedule.playbook).order_by("id").first()
            )
            due = schedule.next_at
            schedule.next_at = due + timedelta(days=schedule.every_days)
            schedule.save(update_fields=["next_at"])
            if scenario is None or schedule.playbook.archived:
                continue
            system = Actor.system(DRILL_LABEL)
            drill_create(
                actor=system,
                scenario=scenario,
                mode=schedule.mode,
                title=f"Scheduled drill: {schedule.playbook.name}"[:200],
                facilitator=schedule.facilitator,
                team=schedule.team,
                scheduled_for=due,
                schedule=schedule,
            )
            opened += 1
    return opened
