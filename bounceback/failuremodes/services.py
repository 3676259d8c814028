"""Writing the failure-mode catalog: touchpoints, proposals, votes and decisions.

Rules for callers:
- Any staff member may propose a failure mode and vote on proposals; deciding
  (accept, reject), editing scores, retiring and managing touchpoints are for
  leads and managers. Views and endpoints check the permission; these
  services check it again when given a person (`actor=None` is the system or
  an API token whose scope was checked by the caller).
- Only accepted failure modes are linked to cases (see `accepted_failure_mode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.actors import ActorLike, actor_of
from bounceback.audit.services import audit_record
from bounceback.changes import changes_apply
from bounceback.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bounceback.failuremodes.models import FailureMode, FailureModeVote, Touchpoint
from bounceback.inputs import text_field

if TYPE_CHECKING:
    from bounceback.sites.models import Site

DECIDE = "failuremodes.decide_failuremode"
CHANGE = "failuremodes.change_failuremode"
PROPOSE = "failuremodes.add_failuremode"
ADD_TOUCHPOINT = "failuremodes.add_touchpoint"
CHANGE_TOUCHPOINT = "failuremodes.change_touchpoint"

SCORES = ("severity", "occurrence", "detection")
_TEXTS = {"title": 160, "description": 5000, "effect": 5000, "cause": 5000}


# --- Checks -------------------------------------------------------------------------------


def _require(actor: ActorLike, permission: str, doing: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden(f"your role may not {doing}", code="missing_permission")


def _score(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise ValidationFailed(f"{field} must be a whole number from 1 to 10", field=field)
    return value


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValidationFailed("position must be a whole number from 0 to 10000", field="position")
    return value


def _label(actor: ActorLike) -> str:
    """Proposals and votes name people by their username, as the catalog always has."""
    who = actor_of(actor)
    return who.user.get_username() if who.is_person and who.user else who.label


def _by(actor: ActorLike) -> User | None:
    return actor_of(actor).user


# --- Touchpoints --------------------------------------------------------------------------


def _touchpoint_clash(*, name: str, site: Any, exclude: int | None = None) -> None:
    rows = Touchpoint.objects.annotate(lname=Lower("name")).filter(lname=name.lower())
    rows = rows.filter(site=site) if site is not None else rows.filter(site__isnull=True)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    if rows.exists():
        where = f"at {site}" if site is not None else "for all sites"
        raise Conflict(f"there is already a touchpoint called {name!r} {where}", field="name")


@transaction.atomic
def touchpoint_create(
    *,
    actor: ActorLike,
    name: str,
    description: str = "",
    site: Site | None = None,
    position: int = 0,
) -> Touchpoint:
    """A stage of the customer journey; with no site it applies to every site."""
    _require(actor, ADD_TOUCHPOINT, "add touchpoints")
    name = text_field(name, field="name", max_length=120, required=True)
    description = text_field(description, field="description")
    position = _position(position)
    _touchpoint_clash(name=name, site=site)
    try:
        with transaction.atomic():
            return Touchpoint.objects.create(
                name=name, description=description, site=site, position=position
            )
    except IntegrityError:
        # A colleague created the same one a moment ago.
        raise Conflict(f"there is already a touchpoint called {name!r}", field="name") from None


_TOUCHPOINT_FIELDS = {"name", "description", "site", "position"}


@transaction.atomic
def touchpoint_update(*, touchpoint: Touchpoint, actor: ActorLike, **changes: Any) -> Touchpoint:
    """Rename, describe, move in the journey or change the site of a touchpoint."""
    _require(actor, CHANGE_TOUCHPOINT, "change touchpoints")
    unknown = set(changes) - _TOUCHPOINT_FIELDS
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    if "name" in changes:
        changes["name"] = text_field(changes["name"], field="name", max_length=120, required=True)
    if "description" in changes:
        changes["description"] = text_field(changes["description"], field="description")
    if "position" in changes:
        changes["position"] = _position(changes["position"])
    touchpoint = Touchpoint.objects.select_for_update().get(pk=touchpoint.pk)
    name = changes.get("name", touchpoint.name)
    site = changes.get("site", touchpoint.site)
    if "name" in changes or "site" in changes:
        _touchpoint_clash(name=name, site=site, exclude=touchpoint.pk)
    changes_apply(touchpoint, changes)
    return touchpoint


# --- Failure modes ----------------------------------------------------------------------------


def _title_clash(*, title: str, touchpoint: Touchpoint, exclude: int | None = None) -> None:
    rows = FailureMode.objects.annotate(ltitle=Lower("title")).filter(
        ltitle=title.lower(), touchpoint=touchpoint
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    existing = rows.first()
    if existing is not None:
        raise Conflict(
            f"{touchpoint} already has a failure mode called {existing.title!r} "
            f"({existing.get_status_display().lower()})",
            field="title",
            code="duplicate",
        )


def _lock(failure_mode: FailureMode) -> FailureMode:
    row = (
        FailureMode.objects.select_for_update(of=("self",))
        .select_related("touchpoint")
        .filter(pk=failure_mode.pk)
        .first()
    )
    if row is None:
        raise NotFound(f"no failure mode with id {failure_mode.pk}")
    return row


def _require_status(mode: FailureMode, *allowed: str, doing: str) -> None:
    if mode.status not in allowed:
        raise Conflict(
            f"{mode.title!r} is {mode.get_status_display().lower()}; only "
            f"{' or '.join(FailureMode.Status(s).label.lower() for s in allowed)} failure "
            f"modes can be {doing}",
            field="status",
            code="invalid_transition",
        )


@transaction.atomic
def failure_mode_propose(
    *,
    actor: ActorLike,
    touchpoint: Touchpoint,
    title: str,
    description: str = "",
    effect: str = "",
    cause: str = "",
    severity: int,
    occurrence: int,
    detection: int,
) -> FailureMode:
    """Propose what can go wrong at a touchpoint; a lead accepts or rejects it."""
    _require(actor, PROPOSE, "propose failure modes")
    if touchpoint is None:
        raise ValidationFailed("choose the touchpoint where it goes wrong", field="touchpoint")
    title = text_field(title, field="title", max_length=160, required=True)
    description = text_field(description, field="description")
    effect = text_field(effect, field="effect")
    cause = text_field(cause, field="cause")
    severity = _score(severity, "severity")
    occurrence = _score(occurrence, "occurrence")
    detection = _score(detection, "detection")
    _title_clash(title=title, touchpoint=touchpoint)
    try:
        with transaction.atomic():
            return FailureMode.objects.create(
                touchpoint=touchpoint,
                title=title,
                description=description,
                effect=effect,
                cause=cause,
                severity=severity,
                occurrence=occurrence,
                detection=detection,
                status=FailureMode.Status.PROPOSED,
                proposed_by=_by(actor),
            )
    except IntegrityError:
        raise Conflict(
            f"{touchpoint} already has a failure mode called {title!r}",
            field="title",
            code="duplicate",
        ) from None


@transaction.atomic
def failure_mode_vote(
    *, failure_mode: FailureMode, voter: ActorLike, value: int, comment: str = ""
) -> FailureModeVote:
    """+1 (a real risk) or -1 (not one); voting again replaces your earlier vote."""
    person = actor_of(voter).user
    if not actor_of(voter).is_person or person is None:
        raise ValidationFailed("only a person can vote", field="voter")
    _require(voter, PROPOSE, "vote on failure modes")
    if isinstance(value, bool) or value not in (1, -1):
        raise ValidationFailed("a vote is +1 or -1", field="value")
    comment = text_field(comment, field="comment", max_length=300)
    mode = _lock(failure_mode)
    _require_status(mode, FailureMode.Status.PROPOSED, doing="voted on")
    vote, _ = FailureModeVote.objects.update_or_create(
        failure_mode=mode, voter=person, defaults={"value": value, "comment": comment}
    )
    return vote


def _decide(
    *, failure_mode: FailureMode, actor: ActorLike, status: str, reason: str, action: str
) -> FailureMode:
    mode = _lock(failure_mode)
    _require_status(mode, FailureMode.Status.PROPOSED, doing="accepted or rejected")
    mode.status = status
    mode.decided_by = _by(actor)
    mode.decided_at = timezone.now()
    mode.decision_reason = reason
    mode.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
    audit_record(
        action=action,
        actor=actor,
        actor_label=_label(actor),
        target=f"failure_mode:{mode.pk}",
        data={"title": mode.title, "reason": reason},
    )
    return mode


@transaction.atomic
def failure_mode_accept(
    *, failure_mode: FailureMode, actor: ActorLike, reason: str = ""
) -> FailureMode:
    """Put a proposal in the catalog: from now on cases can be linked to it."""
    _require(actor, DECIDE, "accept failure modes")
    reason = text_field(reason, field="reason", max_length=2000)
    return _decide(
        failure_mode=failure_mode,
        actor=actor,
        status=FailureMode.Status.ACCEPTED,
        reason=reason,
        action="failure_mode_accepted",
    )


@transaction.atomic
def failure_mode_reject(*, failure_mode: FailureMode, actor: ActorLike, reason: str) -> FailureMode:
    """Turn a proposal down; the proposer and the voters are owed a reason."""
    _require(actor, DECIDE, "reject failure modes")
    reason = text_field(reason, field="reason", max_length=2000, required=True)
    return _decide(
        failure_mode=failure_mode,
        actor=actor,
        status=FailureMode.Status.REJECTED,
        reason=reason,
        action="failure_mode_rejected",
    )


_EDITABLE = {"touchpoint", "title", "description", "effect", "cause", *SCORES}


@transaction.atomic
def failure_mode_update(
    *, failure_mode: FailureMode, actor: ActorLike, **changes: Any
) -> FailureMode:
    """Edit or re-score a proposed or accepted failure mode (leads and managers)."""
    _require(actor, CHANGE, "edit failure modes")
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    for name in _TEXTS:
        if name in changes:
            changes[name] = text_field(
                changes[name], field=name, max_length=_TEXTS[name], required=name == "title"
            )
    for name in SCORES:
        if name in changes:
            changes[name] = _score(changes[name], name)
    if "touchpoint" in changes and changes["touchpoint"] is None:
        raise ValidationFailed("a failure mode belongs to a touchpoint", field="touchpoint")
    mode = _lock(failure_mode)
    _require_status(mode, FailureMode.Status.PROPOSED, FailureMode.Status.ACCEPTED, doing="edited")
    if "title" in changes or "touchpoint" in changes:
        _title_clash(
            title=changes.get("title", mode.title),
            touchpoint=changes.get("touchpoint", mode.touchpoint),
            exclude=mode.pk,
        )
    diff = {
        name: [str(before), str(after)]
        for name, (before, after) in changes_apply(mode, changes).items()
    }
    if diff:
        mode.refresh_from_db(fields=["rpn"])
        if set(diff) & set(SCORES):
            audit_record(
                action="failure_mode_rescored",
                actor=actor,
                actor_label=_label(actor),
                target=f"failure_mode:{mode.pk}",
                data={"title": mode.title, **{k: v for k, v in diff.items() if k in SCORES}},
            )
    return mode


@transaction.atomic
def failure_mode_retire(
    *, failure_mode: FailureMode, actor: ActorLike, reason: str = ""
) -> FailureMode:
    """Take an accepted mode out of the catalog (cases keep their link to it)."""
    _require(actor, CHANGE, "retire failure modes")
    reason = text_field(reason, field="reason", max_length=2000)
    mode = _lock(failure_mode)
    _require_status(mode, FailureMode.Status.ACCEPTED, doing="retired")
    mode.status = FailureMode.Status.RETIRED
    fields = ["status", "updated_at"]
    if reason:
        mode.decision_reason = reason
        fields.append("decision_reason")
    mode.save(update_fields=fields)
    audit_record(
        action="failure_mode_retired",
        actor=actor,
        actor_label=_label(actor),
        target=f"failure_mode:{mode.pk}",
        data={"title": mode.title, "reason": reason},
    )
    return mode


def accepted_failure_mode(
    failure_mode: FailureMode | None, *, field: str = "failure_mode_id"
) -> FailureMode | None:
    """Check a failure mode may be linked to a case: only accepted ones can.

    Cases call this when opened or edited; None (no failure mode) passes.
    """
    if failure_mode is None:
        return None
    if failure_mode.status != FailureMode.Status.ACCEPTED:
        raise ValidationFailed(
            f"{failure_mode.title!r} is {failure_mode.get_status_display().lower()}; "
            "a case can only be linked to an accepted failure mode",
            field=field,
        )
    return failure_mode
