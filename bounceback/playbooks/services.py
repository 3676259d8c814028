"""Writing playbooks: create, revise (always a new version), edit details, archive.

Rules for callers:
- Content (checklist, templates, compensation, contacts) is only ever written
  as a whole new version; `playbook_revise` never touches an existing version,
  so a breakdown keeps following the version it started with.
- Validation runs before anything is written and names the field at fault the
  way the API does ("actions[2].target_minutes", "templates[0].body").
- Templates are scored by the apology coach when saved (see coaching.py); a
  first message below the bar is refused (CoachRefused, 422) unless
  `content.coach_override_reason` says why it should go out anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.actors import ActorLike, actor_of
from bounceback.coach.scoring import CoachResult
from bounceback.customers.models import Channel
from bounceback.errors import Conflict, ValidationFailed
from bounceback.failuremodes.models import FailureMode
from bounceback.inputs import text_field
from bounceback.playbooks import coaching
from bounceback.playbooks.models import (
    CompensationKind,
    Playbook,
    PlaybookAction,
    PlaybookCompensation,
    PlaybookTemplate,
    PlaybookVersion,
    TemplatePurpose,
)
from bounceback.playbooks.templating import template_problems

# --- Input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    title: str
    owner_role: str
    target_minutes: int
    details: str = ""


@dataclass(frozen=True)
class TemplateInput:
    purpose: str
    body: str
    channel: str = Channel.EMAIL
    language: str = "en"
    subject: str = ""


@dataclass(frozen=True)
class CompensationInput:
    kind: str
    amount: Decimal
    currency: str
    segment: str = "all"
    description: str = ""


@dataclass(frozen=True)
class ContactInput:
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class PlaybookContent:
    """Everything a version holds. Lists keep the caller's order (checklist order matters)."""

    applies_when: str
    actions: list[ActionInput]
    templates: list[TemplateInput] = field(default_factory=list)
    compensations: list[CompensationInput] = field(default_factory=list)
    escalation_contacts: list[ContactInput] = field(default_factory=list)
    backup_resources: str = ""
    change_note: str = ""
    coach_override_reason: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PlaybookContent:
        """Build from plain dicts and lists (API bodies, demo data); amounts may be strings."""

        def rows(name: str, kind: type, allowed: set[str]) -> list[Any]:
            out = []
            for i, row in enumerate(data.get(name) or []):
                if not isinstance(row, Mapping):
                    raise ValidationFailed(f"{name}[{i}] must be an object", field=f"{name}[{i}]")
                unknown = set(row) - allowed
                if unknown:
                    key = sorted(unknown)[0]
                    raise ValidationFailed(f"{key} is not a field here", field=f"{name}[{i}].{key}")
                try:
                    out.append(kind(**row))
                except TypeError:
                    missing = sorted(
                        k for k in allowed if k not in row and k in _REQUIRED.get(name, set())
                    )
                    where = f"{name}[{i}].{missing[0]}" if missing else f"{name}[{i}]"
                    raise ValidationFailed("this field is required", field=where) from None
            return out

        return cls(
            applies_when=str(data.get("applies_when") or ""),
            backup_resources=str(data.get("backup_resources") or ""),
            change_note=str(data.get("change_note") or ""),
            coach_override_reason=str(data.get("coach_override_reason") or ""),
            actions=rows("actions", ActionInput, _FIELDS["actions"]),
            templates=rows("templates", TemplateInput, _FIELDS["templates"]),
            compensations=rows("compensations", CompensationInput, _FIELDS["compensations"]),
            escalation_contacts=rows(
                "escalation_contacts", ContactInput, _FIELDS["escalation_contacts"]
            ),
        )


_FIELDS = {
    "actions": {"title", "owner_role", "target_minutes", "details"},
    "templates": {"purpose", "body", "channel", "language", "subject"},
    "compensations": {"kind", "amount", "currency", "segment", "description"},
    "escalation_contacts": {"name", "role", "phone", "email"},
}
_REQUIRED = {
    "actions": {"title", "owner_role", "target_minutes"},
    "templates": {"purpose", "body"},
    "compensations": {"kind", "amount", "currency"},
    "escalation_contacts": {"name"},
}


def content_of(version: PlaybookVersion) -> PlaybookContent:
    """A version's content as input, to start the next revision from (the editor's initial data)."""
    return PlaybookContent(
        applies_when=version.applies_when,
        backup_resources=version.backup_resources,
        escalation_contacts=[
            ContactInput(**{k: str(c.get(k, "")) for k in ("name", "role", "phone", "email")})
            for c in version.escalation_contacts
        ],
        actions=[
            ActionInput(
                title=a.title,
                details=a.details,
                owner_role=a.owner_role,
                target_minutes=a.target_minutes,
            )
            for a in version.actions.all()
        ],
        templates=[
            TemplateInput(
                purpose=t.purpose,
                channel=t.channel,
                language=t.language,
                subject=t.subject,
                body=t.body,
            )
            for t in version.templates.all()
        ],
        compensations=[
            CompensationInput(
                segment=c.segment,
                kind=c.kind,
                amount=c.amount,
                currency=c.currency,
                description=c.description,
            )
            for c in version.compensations.all()
        ],
    )


class CoachRefused(ValidationFailed):
    """The first message scored below the bar; `result` carries the coach's findings."""

    code = "coach_refused"

    def __init__(self, message: str, *, field: str, result: CoachResult):
        super().__init__(message, field=field)
        self.result = result


# --- Validation ---------------------------------------------------------------------------


NAME_MAX = 160


def _name(name: Any) -> str:
    return text_field(name, field="name", max_length=NAME_MAX, required=True)


def _answers(failure_mode: FailureMode | None, breakdown_type: Any) -> str:
    answered = text_field(breakdown_type or "", field="breakdown_type", max_length=120)
    if failure_mode is None and not answered:
        raise ValidationFailed(
            "a playbook answers a failure mode or a breakdown type: give at least one",
            field="failure_mode",
        )
    if failure_mode is not None and failure_mode.status in {
        FailureMode.Status.REJECTED,
        FailureMode.Status.RETIRED,
    }:
        raise ValidationFailed(
            f"the failure mode {failure_mode.title!r} is "
            f"{failure_mode.get_status_display().lower()}",
            field="failure_mode",
        )
    return answered


def _unique_name(name: str, *, exclude: int | None = None) -> None:
    rows = Playbook.objects.filter(name__iexact=name)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    if rows.exists():
        raise Conflict(f"a playbook called {name!r} already exists", field="name")


def _minutes(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            raise ValidationFailed("must be a whole number of minutes", field=path)
    if value < 1:
        raise ValidationFailed("must be at least 1 minute", field=path)
    if value > 60 * 24 * 30:
        raise ValidationFailed("must be at most 30 days (43200 minutes)", field=path)
    return int(value)


def _amount(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValidationFailed("must be a decimal amount such as 25.00", field=path)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed("must be a decimal amount such as 25.00", field=path) from None
    if not amount.is_finite():
        raise ValidationFailed("must be a decimal amount such as 25.00", field=path)
    if amount < 0:
        raise ValidationFailed("must not be negative", field=path)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("at most two decimal places", field=path)
    if amount >= Decimal("1e10"):
        raise ValidationFailed("is too large", field=path)
    return amount.quantize(Decimal("0.01"))


def _check_placeholders(text: str, path: str) -> None:
    problems = template_problems(text)
    if problems:
        raise ValidationFailed(problems[0], field=path)


@dataclass
class _Clean:
    content: PlaybookContent
    actions: list[ActionInput]
    templates: list[TemplateInput]
    compensations: list[CompensationInput]
    contacts: list[dict[str, str]]


# Long on purpose: checks every part of a playbook (checklist, templates,
# compensation, contacts) in the order the editor shows them, naming each path.
def _validate(content: PlaybookContent) -> _Clean:
    if not isinstance(content, PlaybookContent):
        raise ValidationFailed("content is required", field="content")
    applies_when = text_field(content.applies_when, field="applies_when", required=True)
    backup = text_field(content.backup_resources, field="backup_resources")
    change_note = text_field(content.change_note, field="change_note", max_length=300)
    override = text_field(content.coach_override_reason, field="coach_override_reason")

    if not content.actions:
        raise ValidationFailed("a playbook needs at least one action", field="actions")
    actions = []
    for i, a in enumerate(content.actions):
        path = f"actions[{i}]"
        if a.owner_role not in Role.values:
            raise ValidationFailed(
                f"{a.owner_role!r} is not a role; use one of: {', '.join(Role.values)}",
                field=f"{path}.owner_role",
            )
        actions.append(
            ActionInput(
                title=text_field(a.title, field=f"{path}.title", max_length=200, required=True),
                details=text_field(a.details, field=f"{path}.details"),
                owner_role=a.owner_role,
                target_minutes=_minutes(a.target_minutes, f"{path}.target_minutes"),
            )
        )

    templates = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, t in enumerate(content.templates):
        path = f"templates[{i}]"
        if t.purpose not in TemplatePurpose.values:
            raise ValidationFailed(
                f"{t.purpose!r} is not a purpose; use one of: {', '.join(TemplatePurpose.values)}",
                field=f"{path}.purpose",
            )
        if t.channel not in Channel.values:
            raise ValidationFailed(
                f"{t.channel!r} is not a channel; use one of: {', '.join(Channel.values)}",
                field=f"{path}.channel",
            )
        language = text_field(
            t.language or "en", field=f"{path}.language", max_length=20, required=True
        ).lower()
        key = (t.purpose, t.channel, language)
        if key in seen:
            raise ValidationFailed(
                f"templates[{seen[key]}] is already the {t.purpose} template for "
                f"{t.channel} in {language!r}",
                field=f"{path}.language",
            )
        seen[key] = i
        subject = text_field(t.subject, field=f"{path}.subject", max_length=300)
        body = text_field(t.body, field=f"{path}.body", required=True)
        _check_placeholders(subject, f"{path}.subject")
        _check_placeholders(body, f"{path}.body")
        templates.append(
            TemplateInput(
                purpose=t.purpose, channel=t.channel, language=language, subject=subject, body=body
            )
        )

    compensations = []
    for i, c in enumerate(content.compensations):
        path = f"compensations[{i}]"
        if c.kind not in CompensationKind.values:
            raise ValidationFailed(
                f"{c.kind!r} is not a kind; use one of: {', '.join(CompensationKind.values)}",
                field=f"{path}.kind",
            )
        currency = text_field(c.currency, field=f"{path}.currency", required=True).upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ValidationFailed(
                "must be a three-letter currency code such as USD", field=f"{path}.currency"
            )
        compensations.append(
            CompensationInput(
                segment=text_field(
                    c.segment or "all", field=f"{path}.segment", max_length=60, required=True
                ).lower(),
                kind=c.kind,
                amount=_amount(c.amount, f"{path}.amount"),
                currency=currency,
                description=text_field(c.description, field=f"{path}.description", max_length=200),
            )
        )

    contacts = []
    for i, contact in enumerate(content.escalation_contacts):
        path = f"escalation_contacts[{i}]"
        row = {
            "name": text_field(contact.name, field=f"{path}.name", max_length=200, required=True),
            "role": text_field(contact.role, field=f"{path}.role", max_length=200),
            "phone": text_field(contact.phone, field=f"{path}.phone", max_length=60),
            "email": text_field(contact.email, field=f"{path}.email", max_length=254),
        }
        if not row["phone"] and not row["email"]:
            raise ValidationFailed(
                "give a phone number or an email, or nobody can reach them", field=f"{path}.phone"
            )
        if row["email"] and "@" not in row["email"]:
            raise ValidationFailed("is not an email address", field=f"{path}.email")
        contacts.append(row)

    clean = PlaybookContent(
        applies_when=applies_when,
        backup_resources=backup,
        change_note=change_note,
        coach_override_reason=override,
        actions=actions,
        templates=templates,
        compensations=compensations,
    )
    return _Clean(clean, actions, templates, compensations, contacts)


# --- Coaching -----------------------------------------------------------------------------


@dataclass
class _Scored:
    score: int | None
    findings: list[dict[str, Any]]


def _coach(templates: list[TemplateInput], *, title: str, override: str) -> list[_Scored]:
    """Score every template; raise CoachRefused for a first message below the bar."""
    values = coaching.sample_values(title=title)
    scored = [_Scored(None, []) for _ in templates]
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for i, t in enumerate(templates):
        groups.setdefault((t.channel, t.language), {})[t.purpose] = i
    threshold = coaching.coach_threshold()
    for (_channel, language), by_purpose in groups.items():
        readable = coaching.is_scored(language)
        for purpose, i in by_purpose.items():
            if not readable:
                scored[i].findings = coaching.findings_json([coaching.NOT_SCORED])
            elif purpose not in coaching.FIRST_MESSAGE:
                text = templates[i].body
                scored[i].findings = coaching.findings_json(
                    coaching.problems_only(text=text, values=values, language=language)
                )
        apology = by_purpose.get(TemplatePurpose.APOLOGY)
        if apology is None or not readable:
            continue
        parts: dict[str, str] = {
            str(p): templates[by_purpose[p]].body for p in coaching.FIRST_MESSAGE if p in by_purpose
        }
        result = coaching.score_first_message(
            text=coaching.first_message(parts, values),
            title=title,
            values=values,
            threshold=threshold,
            language=language,
        )
        if not result.passed and not override:
            advice = "; ".join(
                f.message for f in result.findings if f.kind in {"problem", "missing"}
            )
            raise CoachRefused(
                f"the apology coach scores this first message {result.score}/100, below the "
                f"{result.threshold} needed: {advice or 'see the findings'}. Improve it, or give "
                "a reason to save it anyway",
                field=f"templates[{apology}].body",
                result=result,
            )
        scored[apology] = _Scored(result.score, coaching.findings_json(result.findings))
        for purpose in (TemplatePurpose.EXPLANATION, TemplatePurpose.ALTERNATIVES):
            if purpose in by_purpose:
                # Scored as part of the apology; keep only the phrasing problems found in this part.
                scored[by_purpose[purpose]].findings = coaching.findings_json(
                    coaching.problems_only(
                        text=templates[by_purpose[purpose]].body, values=values, language=language
                    )
                )
    return scored


def _title_for(failure_mode: FailureMode | None, breakdown_type: str) -> str:
    if failure_mode is not None:
        return failure_mode.title
    return breakdown_type


# --- Writes -------------------------------------------------------------------------------


def _write_version(
    playbook: Playbook, clean: _Clean, scored: list[_Scored], *, number: int, actor: ActorLike
) -> PlaybookVersion:
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=number,
        applies_when=clean.content.applies_when,
        backup_resources=clean.content.backup_resources,
        escalation_contacts=clean.contacts,
        change_note=clean.content.change_note,
        coach_override_reason=clean.content.coach_override_reason,
        created_by=_user(actor),
    )
    PlaybookAction.objects.bulk_create(
        PlaybookAction(
            version=version,
            position=position,
            title=a.title,
            details=a.details,
            owner_role=a.owner_role,
            target_minutes=a.target_minutes,
        )
        for position, a in enumerate(clean.actions, start=1)
    )
    PlaybookTemplate.objects.bulk_create(
        PlaybookTemplate(
            version=version,
            purpose=t.purpose,
            channel=t.channel,
            language=t.language,
            subject=t.subject,
            body=t.body,
            coach_score=s.score,
            coach_findings=s.findings,
        )
        for t, s in zip(clean.templates, scored, strict=True)
    )
    PlaybookCompensation.objects.bulk_create(
        PlaybookCompensation(
            version=version,
            segment=c.segment,
            kind=c.kind,
            amount=c.amount,
            currency=c.currency,
            description=c.description,
        )
        for c in clean.compensations
    )
    return version


def _user(actor: ActorLike) -> User | None:
    return actor_of(actor).user


def _audit(action: str, playbook: Playbook, actor: ActorLike, data: dict[str, Any]) -> None:
    from bounceback.audit.services import audit_record

    audit_record(action=action, actor=actor, target=f"playbook:{playbook.pk}", data=data)


def playbook_create(
    *,
    actor: ActorLike,
    name: str,
    content: PlaybookContent,
    failure_mode: FailureMode | None = None,
    breakdown_type: str = "",
) -> Playbook:
    """A new playbook with its first version as `current`."""
    name = _name(name)
    breakdown_type = _answers(failure_mode, breakdown_type)
    clean = _validate(content)
    _unique_name(name)
    scored = _coach(
        clean.templates,
        title=_title_for(failure_mode, breakdown_type),
        override=clean.content.coach_override_reason,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                playbook = Playbook.objects.create(
                    name=name,
                    failure_mode=failure_mode,
                    breakdown_type=breakdown_type,
                    created_by=_user(actor),
                )
        except IntegrityError:
            # Someone created the same name between our check and this insert.
            raise Conflict(f"a playbook called {name!r} already exists", field="name") from None
        version = _write_version(playbook, clean, scored, number=1, actor=actor)
        playbook.current = version
        playbook.save(update_fields=["current", "updated_at"])
        _audit("playbook_created", playbook, actor, {"name": name, "version": 1})
    return playbook


def playbook_revise(
    *, playbook: Playbook, actor: ActorLike, content: PlaybookContent
) -> PlaybookVersion:
    """Write `content` as the next version and make it current; older versions stay as they were."""
    clean = _validate(content)
    with transaction.atomic():
        playbook = (
            Playbook.objects.select_for_update(of=("self",))
            .select_related("failure_mode")
            .get(pk=playbook.pk)
        )
        if playbook.archived:
            raise Conflict("this playbook is archived; restore it before revising it")
        scored = _coach(
            clean.templates,
            title=_title_for(playbook.failure_mode, playbook.breakdown_type),
            override=clean.content.coach_override_reason,
        )
        last = playbook.versions.aggregate(n=Max("number"))["n"] or 0
        version = _write_version(playbook, clean, scored, number=last + 1, actor=actor)
        playbook.current = version
        playbook.save(update_fields=["current", "updated_at"])
        _audit(
            "playbook_revised",
            playbook,
            actor,
            {"version": version.number, "change_note": clean.content.change_note},
        )
    return version


_UNSET: Any = object()


def playbook_update_details(
    *,
    playbook: Playbook,
    actor: ActorLike,
    name: str = _UNSET,
    failure_mode: FailureMode | None = _UNSET,
    breakdown_type: str = _UNSET,
) -> Playbook:
    """Rename it or change what it answers; not versioned (the plan itself is unchanged)."""
    with transaction.atomic():
        playbook = (
            Playbook.objects.select_for_update(of=("self",))
            .select_related("failure_mode")
            .get(pk=playbook.pk)
        )
        fields: list[str] = []
        changes: dict[str, Any] = {}
        if name is not _UNSET:
            name = _name(name)
            if name != playbook.name:
                _unique_name(name, exclude=playbook.pk)
                changes["name"] = [playbook.name, name]
                playbook.name = name
                fields.append("name")
        new_mode = playbook.failure_mode if failure_mode is _UNSET else failure_mode
        new_type = playbook.breakdown_type if breakdown_type is _UNSET else breakdown_type
        if failure_mode is not _UNSET or breakdown_type is not _UNSET:
            if new_mode is not None and new_mode.pk == playbook.failure_mode_id:
                # Keeping the mode it already answers is fine even if it has since been retired.
                new_type = text_field(new_type or "", field="breakdown_type", max_length=120)
            else:
                new_type = _answers(new_mode, new_type)
            if new_mode is None and not new_type:
                raise ValidationFailed(
                    "a playbook answers a failure mode or a breakdown type: give at least one",
                    field="failure_mode",
                )
            if (new_mode.pk if new_mode else None) != playbook.failure_mode_id:
                changes["failure_mode"] = [
                    playbook.failure_mode_id,
                    new_mode.pk if new_mode else None,
                ]
                playbook.failure_mode = new_mode
                fields.append("failure_mode")
            if new_type != playbook.breakdown_type:
                changes["breakdown_type"] = [playbook.breakdown_type, new_type]
                playbook.breakdown_type = new_type
                fields.append("breakdown_type")
        if fields:
            playbook.save(update_fields=[*fields, "updated_at"])
            _audit("playbook_details_changed", playbook, actor, changes)
    return playbook


def playbook_archive(*, playbook: Playbook, actor: ActorLike, archived: bool = True) -> Playbook:
    """Hide it from new breakdowns (or restore it); running breakdowns are not affected."""
    with transaction.atomic():
        playbook = Playbook.objects.select_for_update(of=("self",)).get(pk=playbook.pk)
        if playbook.archived == archived:
            state = "archived" if archived else "not archived"
            raise Conflict(f"this playbook is already {state}", field="archived")
        playbook.archived = archived
        playbook.save(update_fields=["archived", "updated_at"])
        _audit("playbook_archived" if archived else "playbook_restored", playbook, actor, {})
    return playbook
