"""The drills API, mounted at /api/drills.

drills:read reads scenarios, drills (injects, checklist, scribe's log, scores,
debrief, the messages the sandbox kept), readiness and coverage; drills:write
runs drills: start, step, end, cancel, log, tick, adjust ratings, apply plan
items. Writing scenarios, setting up drills and schedules also needs a
manager's drills.add_drill when a signed-in person calls (the services check it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.accounts.models import Team, User
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS, PageFilters, PatchSchema, Schema
from bounceback.drills import selectors, services
from bounceback.drills.models import (
    Drill,
    DrillAction,
    DrillInject,
    DrillSchedule,
    DrillScore,
    ImprovementItem,
    Scenario,
)
from bounceback.errors import NotFound
from bounceback.playbooks.models import Playbook

router = Router(tags=["drills"])


# --- Schemas ----------------------------------------------------------------------------------


class DrillInjectIn(Schema):
    customer_name: str = Field(..., max_length=200)
    summary: str = Field(..., max_length=200)
    message: str
    offset_minutes: int = Field(0, description="Minutes after the drill starts (0..1440)")
    persona: str = Field(
        "ordinary",
        description="ordinary, chronic_complainer, vip, spanish or refund_outside_policy",
    )
    channel: str = Field("email", description="email, web, sms, chat or social")
    language: str = "en"
    expected_response: str = ""
    acknowledge_minutes: int = Field(5, description="Target for the first touch (1..1440)")
    apologise_minutes: int = Field(15, description="Target for the apology (1..1440)")

    def as_input(self) -> services.InjectInput:
        return services.InjectInput(**self.model_dump())


class DrillScenarioIn(Schema):
    playbook_id: int
    title: str = Field(..., max_length=200)
    description: str = ""
    injects: list[DrillInjectIn]


class DrillScenarioPatch(PatchSchema):
    title: str | None = Field(None, max_length=200)
    description: str | None = None
    injects: list[DrillInjectIn] | None = Field(None, description="Replaces every inject")


class DrillScenarioInjectOut(Schema):
    position: int
    offset_minutes: int
    persona: str
    customer_name: str
    channel: str
    language: str
    summary: str
    message: str
    expected_response: str
    acknowledge_minutes: int
    apologise_minutes: int


class DrillScenarioOut(Schema):
    id: int
    playbook_id: int
    playbook_name: str
    failure_mode_id: int | None
    title: str
    description: str
    generated: bool
    injects: list[DrillScenarioInjectOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_playbook_name(obj: Scenario) -> str:
        return obj.playbook.name


class DrillScenarioPage(Schema):
    items: list[DrillScenarioOut]
    next_cursor: str | None


class DrillGenerateIn(Schema):
    threshold: int | None = Field(None, description="RPN from which a mode is high risk")


class DrillParticipantIn(Schema):
    user_id: int
    role: str = Field("responder", description="responder, scribe or observer")


class DrillCreateIn(Schema):
    scenario_id: int
    mode: str = Field("live", description="live or tabletop")
    title: str = Field("", max_length=200)
    facilitator_id: int | None = None
    team_id: int | None = None
    scheduled_for: datetime | None = None
    participants: list[DrillParticipantIn] = Field(default_factory=list)


class DrillPersonOut(Schema):
    id: int
    name: str


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": str(user)}


class DrillSummaryOut(Schema):
    id: int
    title: str
    mode: str
    state: str = Field(..., description="scheduled, running, ended or cancelled")
    playbook_id: int
    playbook_name: str
    scenario_id: int
    team_id: int | None
    facilitator: DrillPersonOut | None
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    next_inject_at: datetime | None
    readiness: int | None = Field(..., description="0..100 when ended and rated")
    created_at: datetime

    @staticmethod
    def resolve_playbook_name(obj: Drill) -> str:
        return obj.playbook.name

    @staticmethod
    def resolve_facilitator(obj: Drill) -> dict[str, Any] | None:
        return _person(obj.facilitator)


class DrillPage(Schema):
    items: list[DrillSummaryOut]
    next_cursor: str | None


class DrillFilters(PageFilters):
    state: str = Field("", description="scheduled, running, ended or cancelled")


class DrillRunInjectOut(Schema):
    id: int
    position: int
    due_at: datetime | None
    delivered_at: datetime | None
    persona: str
    customer_name: str
    channel: str
    summary: str
    message: str
    expected_response: str
    acknowledge_minutes: int
    apologise_minutes: int
    case_id: int | None
    case_reference: str | None
    case_status: str | None
    apologised_at: datetime | None

    @staticmethod
    def resolve_case_reference(obj: DrillInject) -> str | None:
        return obj.case.reference if obj.case else None

    @staticmethod
    def resolve_case_status(obj: DrillInject) -> str | None:
        return obj.case.status if obj.case else None

    @staticmethod
    def resolve_apologised_at(obj: DrillInject) -> datetime | None:
        return obj.case.apologised_at if obj.case else None


class DrillParticipantOut(Schema):
    user: DrillPersonOut
    role: str

    @staticmethod
    def resolve_user(obj: Any) -> dict[str, Any] | None:
        return _person(obj.user)


class DrillActionOut(Schema):
    id: int
    title: str
    owner_role: str
    target_minutes: int
    done_at: datetime | None
    done_by: DrillPersonOut | None

    @staticmethod
    def resolve_done_by(obj: DrillAction) -> dict[str, Any] | None:
        return _person(obj.done_by)


class DrillLogOut(Schema):
    id: int
    kind: str
    text: str
    at: datetime
    author: DrillPersonOut | None

    @staticmethod
    def resolve_author(obj: Any) -> dict[str, Any] | None:
        return _person(obj.author)


class DrillScoreOut(Schema):
    id: int
    user: DrillPersonOut | None = Field(..., description="null: the team")
    objective: str
    measure: str
    met: float | None
    measured_rating: str = Field(..., description="P, S, M, U or empty (nothing to measure)")
    rating: str
    adjusted_reason: str
    adjusted_by: DrillPersonOut | None
    adjusted_at: datetime | None

    @staticmethod
    def resolve_user(obj: DrillScore) -> dict[str, Any] | None:
        return _person(obj.user)

    @staticmethod
    def resolve_adjusted_by(obj: DrillScore) -> dict[str, Any] | None:
        return _person(obj.adjusted_by)


class DrillImprovementOut(Schema):
    id: int
    kind: str
    text: str
    owner: DrillPersonOut | None
    due_on: date | None
    state: str
    playbook_version_id: int | None
    failure_mode_id: int | None

    @staticmethod
    def resolve_owner(obj: ImprovementItem) -> dict[str, Any] | None:
        return _person(obj.owner)


class DrillOut(DrillSummaryOut):
    injects: list[DrillRunInjectOut]
    participants: list[DrillParticipantOut]
    actions: list[DrillActionOut]
    log: list[DrillLogOut]
    scores: list[DrillScoreOut]
    improvements: list[DrillImprovementOut]


class DrillDebriefOut(Schema):
    drill_id: int
    readiness: int | None
    timeline: list[dict[str, Any]]
    slow: list[str]
    coaching: list[dict[str, Any]]
    strengths: list[str]
    improve: list[str]
    captured: int = Field(..., description="Messages the outbox kept from leaving the sandbox")
    improvements: list[DrillImprovementOut]


class DrillCapturedOut(Schema):
    id: int
    channel: str
    to_address: str
    subject: str
    body_text: str
    state: str = Field(..., description="captured: it would have gone out, and did not")
    created_at: datetime


class DrillLogIn(Schema):
    text: str = Field(..., max_length=2000)
    kind: str = Field("decision", description="decision or note")
    inject_id: int | None = None


class DrillCancelIn(Schema):
    reason: str = Field(..., max_length=500)


class DrillScoreAdjustIn(Schema):
    rating: str = Field(..., description="P, S, M or U")
    reason: str = Field(..., max_length=1000)


class DrillImprovementIn(Schema):
    text: str = Field(..., max_length=2000)
    kind: str = Field("training", description="playbook_revision, failure_mode or training")
    owner_id: int | None = None
    due_on: date | None = None


class DrillScheduleIn(Schema):
    playbook_id: int
    next_at: datetime
    every_days: int = Field(30, description="1..366")
    team_id: int | None = None
    facilitator_id: int | None = None
    mode: str = Field("live", description="live or tabletop")


class DrillScheduleOut(Schema):
    id: int
    playbook_id: int
    team_id: int | None
    every_days: int
    mode: str
    active: bool
    next_at: datetime


class DrillEnsureIn(Schema):
    every_days: int = Field(30, description="1..366")


class DrillCoverageOut(Schema):
    playbook_id: int
    playbook_name: str
    high_risk: bool
    status: str = Field(..., description="never, stale or current")
    drills: int
    last_drilled: datetime | None
    readiness: float | None = Field(..., description="0..100 now, after decay")
    next_scheduled: datetime | None


class DrillReadinessFilters(Schema):
    playbook_id: int | None = None
    team_id: int | None = None
    days: int = Field(90, ge=1, le=366)


class DrillReadinessPointOut(Schema):
    at: datetime
    readiness: float


# --- Helpers ------------------------------------------------------------------------------------


def _drill(pk: int) -> Drill:
    row = selectors.drill_detail(pk)
    if row is None:
        raise NotFound(f"no drill with id {pk}")
    return row


def _scenario(pk: int) -> Scenario:
    row = selectors.scenario_library().filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no scenario with id {pk}")
    return row


# --- Scenarios ----------------------------------------------------------------------------------


@router.get(
    "/scenarios", response={200: DrillScenarioPage, **ERRORS}, summary="The scenario library"
)
def list_scenarios(request: HttpRequest, filters: Query[PageFilters]) -> dict[str, Any]:
    require_scope(request, "drills:read")
    items, next_cursor = cursor_page(
        selectors.scenario_library(),
        cursor=filters.cursor,
        limit=filters.limit,
        order_field="created_at",
        descending=True,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post("/scenarios", response={201: DrillScenarioOut, **ERRORS}, summary="Write a scenario")
def create_scenario(request: HttpRequest, payload: DrillScenarioIn) -> Status[Scenario]:
    actor = act(request, "drills:write")
    playbook = by_id(Playbook, payload.playbook_id, "playbook_id", "playbook")
    scenario = services.scenario_create(
        actor=actor,
        playbook=playbook,
        title=payload.title,
        description=payload.description,
        injects=[i.as_input() for i in payload.injects],
    )
    return Status(201, _scenario(scenario.pk))


@router.post(
    "/scenarios/generate",
    response={200: list[DrillScenarioOut], **ERRORS},
    summary="Generate a scenario for every high-risk failure mode's playbooks (idempotent)",
)
def generate_scenarios(request: HttpRequest, payload: DrillGenerateIn) -> list[Scenario]:
    actor = act(request, "drills:write")
    made = services.drills_library_generate(actor=actor, threshold=payload.threshold)
    return list(selectors.scenario_library().filter(pk__in=[s.pk for s in made]))


@router.get(
    "/scenarios/{scenario_id}", response={200: DrillScenarioOut, **ERRORS}, summary="One scenario"
)
def get_scenario(request: HttpRequest, scenario_id: int) -> Scenario:
    require_scope(request, "drills:read")
    return _scenario(scenario_id)


@router.patch(
    "/scenarios/{scenario_id}", response={200: DrillScenarioOut, **ERRORS}, summary="Edit one"
)
def update_scenario(
    request: HttpRequest, scenario_id: int, payload: DrillScenarioPatch
) -> Scenario:
    actor = act(request, "drills:write")
    scenario = _scenario(scenario_id)
    services.scenario_update(
        scenario=scenario,
        actor=actor,
        title=payload.title,
        description=payload.description,
        injects=[i.as_input() for i in payload.injects] if payload.injects is not None else None,
    )
    return _scenario(scenario_id)


# --- Coverage, readiness, schedules -------------------------------------------------------------


@router.get(
    "/coverage",
    response={200: list[DrillCoverageOut], **ERRORS},
    summary="Every live playbook: never drilled, stale or current, with its readiness",
)
def get_coverage(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, "drills:read")
    return [
        {
            "playbook_id": row.playbook.pk,
            "playbook_name": row.playbook.name,
            "high_risk": row.high_risk,
            "status": row.status,
            "drills": row.drills,
            "last_drilled": row.last_drilled,
            "readiness": round(row.readiness, 1) if row.readiness is not None else None,
            "next_scheduled": row.scheduled,
        }
        for row in selectors.coverage()
    ]


@router.get(
    "/readiness",
    response={200: list[DrillReadinessPointOut], **ERRORS},
    summary="Daily readiness (0..100) of a playbook, a team or everything, decaying between drills",
)
def get_readiness(
    request: HttpRequest, filters: Query[DrillReadinessFilters]
) -> list[dict[str, Any]]:
    require_scope(request, "drills:read")
    playbook = by_id(Playbook, filters.playbook_id, "playbook_id", "playbook")
    team = by_id(Team, filters.team_id, "team_id", "team")
    points = selectors.readiness_trend(playbook=playbook, team=team, days=filters.days)
    return [{"at": p.at, "readiness": round(p.readiness, 1)} for p in points]


@router.get(
    "/schedules", response={200: list[DrillScheduleOut], **ERRORS}, summary="Drill schedules"
)
def list_schedules(request: HttpRequest) -> list[DrillSchedule]:
    require_scope(request, "drills:read")
    return list(DrillSchedule.objects.order_by("next_at", "id")[:500])


@router.post(
    "/schedules", response={201: DrillScheduleOut, **ERRORS}, summary="Schedule a playbook"
)
def create_schedule(request: HttpRequest, payload: DrillScheduleIn) -> Status[DrillSchedule]:
    actor = act(request, "drills:write")
    playbook = by_id(Playbook, payload.playbook_id, "playbook_id", "playbook")
    schedule = services.drill_schedule_create(
        actor=actor,
        playbook=playbook,
        next_at=payload.next_at,
        every_days=payload.every_days,
        team=by_id(Team, payload.team_id, "team_id", "team"),
        facilitator=by_id(User, payload.facilitator_id, "facilitator_id", "person"),
        mode=payload.mode,
    )
    return Status(201, schedule)


@router.post(
    "/schedules/high-risk",
    response={200: list[DrillScheduleOut], **ERRORS},
    summary="Schedule every high-risk playbook that has no schedule yet",
)
def ensure_schedules(request: HttpRequest, payload: DrillEnsureIn) -> list[DrillSchedule]:
    actor = act(request, "drills:write")
    return services.drill_schedules_ensure_high_risk(actor=actor, every_days=payload.every_days)


# --- Drills -------------------------------------------------------------------------------------


@router.get("", response={200: DrillPage, **ERRORS}, summary="Drills, newest first")
def list_drills(request: HttpRequest, filters: Query[DrillFilters]) -> dict[str, Any]:
    require_scope(request, "drills:read")
    items, next_cursor = cursor_page(
        selectors.drills_list(state=filters.state),
        cursor=filters.cursor,
        limit=filters.limit,
        order_field="created_at",
        descending=True,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post("", response={201: DrillOut, **ERRORS}, summary="Set up a drill of a scenario")
def create_drill(request: HttpRequest, payload: DrillCreateIn) -> Status[Drill]:
    actor = act(request, "drills:write")
    scenario = by_id(Scenario, payload.scenario_id, "scenario_id", "scenario")
    participants = [
        services.ParticipantInput(
            user=by_id(User, p.user_id, f"participants[{i}].user_id", "person"), role=p.role
        )
        for i, p in enumerate(payload.participants)
    ]
    drill = services.drill_create(
        actor=actor,
        scenario=scenario,
        mode=payload.mode,
        title=payload.title,
        facilitator=by_id(User, payload.facilitator_id, "facilitator_id", "person"),
        team=by_id(Team, payload.team_id, "team_id", "team"),
        participants=participants,
        scheduled_for=payload.scheduled_for,
    )
    return Status(201, _drill(drill.pk))


@router.get("/{drill_id}", response={200: DrillOut, **ERRORS}, summary="One drill, as it stands")
def get_drill(request: HttpRequest, drill_id: int) -> Drill:
    require_scope(request, "drills:read")
    return _drill(drill_id)


@router.post("/{drill_id}/start", response={200: DrillOut, **ERRORS}, summary="Start a drill")
def start_drill(request: HttpRequest, drill_id: int) -> Drill:
    actor = act(request, "drills:write")
    services.drill_start(drill=_drill(drill_id), actor=actor)
    return _drill(drill_id)


@router.post(
    "/{drill_id}/step",
    response={200: DrillOut, **ERRORS},
    summary="Bring in the next inject now (tabletop; a live drill may run ahead)",
)
def step_drill(request: HttpRequest, drill_id: int) -> Drill:
    actor = act(request, "drills:write")
    services.drill_step(drill=_drill(drill_id), actor=actor)
    return _drill(drill_id)


@router.post(
    "/{drill_id}/end",
    response={200: DrillOut, **ERRORS},
    summary="End a drill: score it and write the debrief",
)
def end_drill(request: HttpRequest, drill_id: int) -> Drill:
    actor = act(request, "drills:write")
    services.drill_end(drill=_drill(drill_id), actor=actor)
    return _drill(drill_id)


@router.post("/{drill_id}/cancel", response={200: DrillOut, **ERRORS}, summary="Call a drill off")
def cancel_drill(request: HttpRequest, drill_id: int, payload: DrillCancelIn) -> Drill:
    actor = act(request, "drills:write")
    services.drill_cancel(drill=_drill(drill_id), actor=actor, reason=payload.reason)
    return _drill(drill_id)


@router.post(
    "/{drill_id}/participants", response={200: DrillOut, **ERRORS}, summary="Add a participant"
)
def add_participant(request: HttpRequest, drill_id: int, payload: DrillParticipantIn) -> Drill:
    actor = act(request, "drills:write")
    services.drill_participant_add(
        drill=_drill(drill_id),
        actor=actor,
        user=by_id(User, payload.user_id, "user_id", "person"),
        role=payload.role,
    )
    return _drill(drill_id)


@router.post(
    "/{drill_id}/log", response={201: DrillLogOut, **ERRORS}, summary="Log a decision (scribe)"
)
def log_decision(request: HttpRequest, drill_id: int, payload: DrillLogIn) -> Status[Any]:
    actor = act(request, "drills:write")
    drill = _drill(drill_id)
    entry = services.drill_log_add(
        drill=drill,
        actor=actor,
        text=payload.text,
        kind=payload.kind,
        inject=by_id(DrillInject, payload.inject_id, "inject_id", "inject"),
    )
    return Status(201, entry)


@router.post(
    "/{drill_id}/actions/{action_id}/done",
    response={200: DrillOut, **ERRORS},
    summary="Tick a checklist action",
)
def tick_action(request: HttpRequest, drill_id: int, action_id: int) -> Drill:
    actor = act(request, "drills:write")
    action = DrillAction.objects.filter(pk=action_id, drill_id=drill_id).first()
    if action is None:
        raise NotFound(f"no action {action_id} in drill {drill_id}")
    services.drill_action_done(action=action, actor=actor)
    return _drill(drill_id)


@router.get(
    "/{drill_id}/captured",
    response={200: list[DrillCapturedOut], **ERRORS},
    summary="What would have gone out: every message the drill's cases wrote",
)
def captured_messages(request: HttpRequest, drill_id: int) -> list[Any]:
    require_scope(request, "drills:read")
    drill = _drill(drill_id)
    return list(selectors.drill_captured(drill)[:500])


@router.get("/{drill_id}/debrief", response={200: DrillDebriefOut, **ERRORS}, summary="The debrief")
def get_debrief(request: HttpRequest, drill_id: int) -> dict[str, Any]:
    require_scope(request, "drills:read")
    drill = _drill(drill_id)
    if drill.state != Drill.State.ENDED:
        raise NotFound("the debrief is written when the drill ends")
    data = drill.debrief
    return {
        "drill_id": drill.pk,
        "readiness": drill.readiness,
        "timeline": data.get("timeline", []),
        "slow": data.get("slow", []),
        "coaching": data.get("coaching", []),
        "strengths": data.get("strengths", []),
        "improve": data.get("improve", []),
        "captured": data.get("captured", 0),
        "improvements": list(drill.improvements.all()),
    }


@router.post(
    "/{drill_id}/scores/{score_id}/adjust",
    response={200: DrillScoreOut, **ERRORS},
    summary="Set an objective's rating with a reason (audited)",
)
def adjust_score(
    request: HttpRequest, drill_id: int, score_id: int, payload: DrillScoreAdjustIn
) -> DrillScore:
    actor = act(request, "drills:write")
    score = DrillScore.objects.filter(pk=score_id, drill_id=drill_id).first()
    if score is None:
        raise NotFound(f"no score {score_id} in drill {drill_id}")
    services.drill_score_adjust(
        score=score, actor=actor, rating=payload.rating, reason=payload.reason
    )
    return DrillScore.objects.select_related("user", "adjusted_by").get(pk=score_id)


@router.post(
    "/{drill_id}/improvements",
    response={201: DrillImprovementOut, **ERRORS},
    summary="Add an item to the improvement plan",
)
def add_improvement(
    request: HttpRequest, drill_id: int, payload: DrillImprovementIn
) -> Status[ImprovementItem]:
    actor = act(request, "drills:write")
    item = services.improvement_add(
        drill=_drill(drill_id),
        actor=actor,
        text=payload.text,
        kind=payload.kind,
        owner=by_id(User, payload.owner_id, "owner_id", "person"),
        due_on=payload.due_on,
    )
    return Status(201, item)


@router.post(
    "/{drill_id}/improvements/{item_id}/apply",
    response={200: DrillImprovementOut, **ERRORS},
    summary="Make the item a playbook revision or a failure-mode proposal (or mark it done)",
)
def apply_improvement(request: HttpRequest, drill_id: int, item_id: int) -> ImprovementItem:
    actor = act(request, "drills:write")
    item = ImprovementItem.objects.filter(pk=item_id, drill_id=drill_id).first()
    if item is None:
        raise NotFound(f"no improvement item {item_id} in drill {drill_id}")
    services.improvement_apply(item=item, actor=actor)
    return ImprovementItem.objects.select_related("owner").get(pk=item_id)
