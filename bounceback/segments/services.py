"""Writes for segments: define them, recompute their members, apply their approach.

Rules for callers:
- Membership rows are written only by `segment_memberships_recompute`. After
  changing a customer's data (transactions, cases, follow-up answers, tags),
  call `segment_memberships_refresh_later(customer_ids=...)` inside your
  transaction: it marks those customers, and a worker recomputes them once
  you commit (the marks survive restarts; see `segments_customers_job`).
- Segment changes recompute that segment's members in the same transaction,
  so the list and the case page agree with the rules as soon as it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from bounceback.accounts.roles import Role
from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.cases.models import Severity
from bounceback.changes import changes_apply
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.inputs import text_field
from bounceback.segments.models import CustomerToRecompute, Segment, SegmentMembership
from bounceback.segments.rules import customers_matching, rules_clean

if TYPE_CHECKING:
    from django.http import HttpRequest

    from bounceback.cases.models import Case

ADD = "segments.add_segment"
CHANGE = "segments.change_segment"
RESERVED_SLUGS = {"all"}
CHUNK = 1000
FULL_ABOVE = 5000

_EDITABLE = {
    "name",
    "slug",
    "description",
    "rules",
    "priority",
    "active",
    "minimum_severity",
    "timer_percent",
    "senior_handling",
    "guidance",
    "compensation_tier",
    "compensation_currency",
}


@dataclass(frozen=True)
class RecomputeCounts:
    segments: int
    joined: int
    left: int

    def as_dict(self) -> dict[str, int]:
        return {"segments": self.segments, "joined": self.joined, "left": self.left}


# --- Checks ---------------------------------------------------------------------------------


def _require(actor: ActorLike, permission: str, doing: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden(f"your role may not {doing}", code="missing_permission")


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(f"{field} must be a whole number", field=field) from None
    if not low <= number <= high:
        raise ValidationFailed(f"{field} must be from {low} to {high}", field=field)
    return number


def _clean(values: dict[str, Any], *, current: Segment | None) -> dict[str, Any]:
    """Validate and normalise the given fields (all of them for a new segment)."""
    clean: dict[str, Any] = {}
    if "name" in values:
        clean["name"] = text_field(values["name"], field="name", max_length=100, required=True)
    if "slug" in values:
        raw = text_field(values["slug"], field="slug", max_length=60)
        slug = slugify(raw or clean.get("name", "") or (current.name if current else ""))[:60]
        if not slug:
            raise ValidationFailed("slug is required (letters, digits and dashes)", field="slug")
        if raw and slug != raw:
            raise ValidationFailed(
                "slug may hold only lowercase letters, digits, dashes and underscores",
                field="slug",
            )
        if slug in RESERVED_SLUGS:
            raise ValidationFailed(
                f"{slug!r} is reserved: playbooks use it for every customer", field="slug"
            )
        clash = Segment.objects.filter(slug=slug)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise Conflict(f"another segment already uses the slug {slug!r}", field="slug")
        clean["slug"] = slug
    if "description" in values:
        clean["description"] = text_field(values["description"], field="description")
    if "rules" in values:
        clean["rules"] = rules_clean(values["rules"])
    if "priority" in values:
        clean["priority"] = _whole(values["priority"], "priority", 0, 10_000)
    if "active" in values:
        if not isinstance(values["active"], bool):
            raise ValidationFailed("active must be true or false", field="active")
        clean["active"] = values["active"]
    if "minimum_severity" in values:
        severity = values["minimum_severity"] or ""
        if severity and severity not in Severity.values:
            raise ValidationFailed(
                f"minimum_severity must be blank or one of {', '.join(Severity.values)}",
                field="minimum_severity",
            )
        clean["minimum_severity"] = severity
    if "timer_percent" in values:
        clean["timer_percent"] = _whole(values["timer_percent"], "timer_percent", 10, 100)
    if "senior_handling" in values:
        role = values["senior_handling"] or ""
        if role and role not in Role.values:
            raise ValidationFailed(
                f"senior_handling must be blank or one of {', '.join(Role.values)}",
                field="senior_handling",
            )
        clean["senior_handling"] = role
    if "guidance" in values:
        clean["guidance"] = text_field(values["guidance"], field="guidance", max_length=2000)
    if "compensation_tier" in values:
        clean["compensation_tier"] = _money(values["compensation_tier"])
    if "compensation_currency" in values:
        currency = text_field(
            values["compensation_currency"], field="compensation_currency", max_length=3
        )
        currency = (currency or settings.BOUNCEBACK_CURRENCY).upper()
        # Allowances and lifetime values are kept in the business currency;
        # a tier in another currency could not be compared with them.
        if currency != settings.BOUNCEBACK_CURRENCY:
            raise ValidationFailed(
                f"compensation_currency must be {settings.BOUNCEBACK_CURRENCY}, "
                "the currency allowances are kept in",
                field="compensation_currency",
            )
        clean["compensation_currency"] = currency
    return clean


def _money(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool | float):
        raise ValidationFailed(
            "compensation_tier must be an amount such as 250.00 (sent as a string)",
            field="compensation_tier",
        )
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(
            "compensation_tier must be an amount such as 250.00", field="compensation_tier"
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed(
            "compensation_tier must be more than zero (or blank for none)",
            field="compensation_tier",
        )
    # The size first: quantize refuses (raises) on a number like 1e30.
    if amount >= Decimal("10000000000") or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(
            "compensation_tier must have at most 2 decimals and 10 digits before them",
            field="compensation_tier",
        )
    return amount


def _audit_data(segment: Segment) -> dict[str, Any]:
    return {
        "slug": segment.slug,
        "rules": segment.rules,
        "priority": segment.priority,
        "active": segment.active,
        "minimum_severity": segment.minimum_severity,
        "timer_percent": segment.timer_percent,
        "senior_handling": segment.senior_handling,
        "compensation_tier": (
            str(segment.compensation_tier) if segment.compensation_tier is not None else None
        ),
    }


# --- Segments -------------------------------------------------------------------------------


@transaction.atomic
def segment_create(
    *,
    actor: ActorLike,
    name: str,
    rules: Any,
    slug: str = "",
    description: str = "",
    priority: int = 100,
    active: bool = True,
    minimum_severity: str = "",
    timer_percent: int = 100,
    senior_handling: str = "",
    guidance: str = "",
    compensation_tier: Any = None,
    compensation_currency: str = "",
    request: HttpRequest | None = None,
) -> Segment:
    """A segment with its rules and approach; members are computed at once.

    Managers only (`actor.may`); refuses invalid rules (naming the rule), a taken
    slug or name, out-of-range settings and a tier not in the business currency.
    Audited."""
    _require(actor, ADD, "create segments")
    clean = _clean(
        {
            "name": name,
            "slug": slug,
            "description": description,
            "rules": rules,
            "priority": priority,
            "active": active,
            "minimum_severity": minimum_severity,
            "timer_percent": timer_percent,
            "senior_handling": senior_handling,
            "guidance": guidance,
            "compensation_tier": compensation_tier,
            "compensation_currency": compensation_currency,
        },
        current=None,
    )
    segment = Segment.objects.create(**clean)
    audit_record(
        action=AuditEvent.Action.SEGMENT_CREATED,
        actor=actor,
        target=f"segment:{segment.slug}",
        request=request,
        data=_audit_data(segment),
    )
    segment_memberships_recompute(segment=segment)
    return segment


@transaction.atomic
def segment_update(
    *, segment: Segment, actor: ActorLike, request: HttpRequest | None = None, **changes: Any
) -> Segment:
    """Change a segment; members are recomputed at once when its rules or activity change."""
    _require(actor, CHANGE, "change segments")
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    clean = _clean(changes, current=segment)
    before = _audit_data(segment)
    changed = list(changes_apply(segment, clean))
    if not changed:
        return segment
    after = _audit_data(segment)
    audit_record(
        action=AuditEvent.Action.SEGMENT_CHANGED,
        actor=actor,
        target=f"segment:{segment.slug}",
        request=request,
        data={
            "changed": changed,
            "before": {k: v for k, v in before.items() if before[k] != after[k]},
            "after": {k: v for k, v in after.items() if before[k] != after[k]},
        },
    )
    if {"rules", "active"} & set(changed):
        segment_memberships_recompute(segment=segment)
    return segment


# --- Membership -----------------------------------------------------------------------------


@transaction.atomic
def segment_memberships_recompute(
    *,
    segment: Segment | None = None,
    customer_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> RecomputeCounts:
    """Bring memberships in line with the rules: one customer query per segment.

    With `customer_ids`, only those customers are looked at (what a data
    change needs); otherwise every customer. Inactive segments lose their
    members. Segment rows are locked in id order so two recomputes of the same
    segment queue behind each other instead of racing on the diff.
    """
    now = now or timezone.now()
    rows = Segment.objects.select_for_update().order_by("pk")
    if segment is not None:
        rows = rows.filter(pk=segment.pk)
    ids = sorted(set(customer_ids)) if customer_ids is not None else None
    if ids is not None and len(ids) > FULL_ABOVE:
        # An import touching this many customers: one pass over everyone is
        # cheaper than an IN list this long (and SQLite caps its parameters).
        ids = None
    joined = left = done = 0
    for current in rows:
        members = SegmentMembership.objects.filter(segment=current)
        matching = customers_matching(current.rules, now=now)
        if ids is not None:
            members = members.filter(customer_id__in=ids)
            matching = matching.filter(pk__in=ids)
        target = set(matching.values_list("pk", flat=True)) if current.active else set()
        existing = set(members.values_list("customer_id", flat=True))
        joins = sorted(target - existing)
        leaves = sorted(existing - target)
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=current, customer_id=pk, since=now) for pk in joins],
            batch_size=CHUNK,
            ignore_conflicts=True,
        )
        for start in range(0, len(leaves), CHUNK):
            SegmentMembership.objects.filter(
                segment=current, customer_id__in=leaves[start : start + CHUNK]
            ).delete()
        if ids is None:
            Segment.objects.filter(pk=current.pk).update(recomputed_at=now)
        joined += len(joins)
        left += len(leaves)
        done += 1
    return RecomputeCounts(segments=done, joined=joined, left=left)


CUSTOMERS_JOB = "segments_customers"
CUSTOMERS_JOB_KEY = "segments:customers"
ALL_JOB = "segments_all"
ALL_JOB_KEY = "segments:all"


def segment_memberships_refresh_later(*, customer_ids: Iterable[int]) -> None:
    """Mark these customers for a recompute, done by a worker once the caller commits.

    The marks are rows, so a recompute cut short by a restart is not lost.
    """
    from bounceback.background.services import job_request

    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids:
        return
    now = timezone.now()
    for start in range(0, len(ids), CHUNK):
        CustomerToRecompute.objects.bulk_create(
            [
                CustomerToRecompute(customer_id=pk, marked_at=now)
                for pk in ids[start : start + CHUNK]
            ],
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=["marked_at"],
        )
    if not _customers_job_pending():
        job_request(kind=CUSTOMERS_JOB, key=CUSTOMERS_JOB_KEY)


def _customers_job_pending() -> bool:
    """True when the customers job will read the marks again without being asked.

    Every case opened and every message logged marks its customer, so asking
    for the job each time would lock its one row in every such transaction and
    queue them all behind each other. When the job is already due (waiting,
    its wake-up sent or left to the sweep) or running with another round
    promised, asking again changes nothing, so this plain read lets the caller
    skip the locking write. A run that began before the caller commits may
    miss the caller's marks; `segments_recompute_due` asks for the job again
    within a minute whenever marks are left with no job pending.
    """
    from bounceback.background.models import Job

    row = Job.objects.filter(key=CUSTOMERS_JOB_KEY).values_list("state", "due_at", "again").first()
    if row is None:
        return False
    state, due_at, again = row
    if state == Job.State.RUNNING:
        return bool(again)
    return state == Job.State.WAITING and due_at <= timezone.now()


def segment_recompute_now(*, actor: ActorLike, segment: Segment | None = None) -> RecomputeCounts:
    """A manager's "recompute now": at once, in this request (set-based, so it is quick)."""
    _require(actor, CHANGE, "recompute segments")
    return segment_memberships_recompute(segment=segment)


_next_check: dict[str, datetime] = {}


def segments_recompute_due(*, now: datetime | None = None) -> int:
    """Called by the clock every tick: queue a full recompute of segments whose turn has come.

    Free between checks (an in-process time), then one small UPDATE per
    minute. The UPDATE claims the due segments, so several clocks, or a queue
    slower than the interval, never queue the same segment twice.
    """
    now = now or timezone.now()
    if now < _next_check.get("segments", now):
        return 0
    _next_check["segments"] = now + timedelta(minutes=1)
    cutoff = now - timedelta(minutes=settings.BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES)
    due = Q(recomputed_at__isnull=True) | Q(recomputed_at__lte=cutoff)
    unclaimed = Q(recompute_queued_at__isnull=True) | Q(recompute_queued_at__lte=cutoff)
    from bounceback.background.services import job_request

    with transaction.atomic():
        claimed = Segment.objects.filter(due & unclaimed).update(recompute_queued_at=now)
        if claimed:
            job_request(kind=ALL_JOB, key=ALL_JOB_KEY)
    # Marks left behind by a request that skipped asking (see _customers_job_pending)
    # while a run was finishing: ask once for them.
    if CustomerToRecompute.objects.exists() and not _customers_job_pending():
        job_request(kind=CUSTOMERS_JOB, key=CUSTOMERS_JOB_KEY)
    return claimed


# --- The approach on cases ------------------------------------------------------------------


def segment_senior_handling_notify(*, case: Case, role: str, segment_names: list[str]) -> int:
    """Tell the people in `role` about a new case of a customer who gets senior handling.

    People of that role in the case's team when it has one and they exist,
    otherwise everyone active in the role. Returns how many were told.
    """
    from bounceback.accounts.models import User
    from bounceback.notifications.services import notify

    people = User.objects.filter(role=role, is_active=True)
    if case.team_id and people.filter(team_id=case.team_id).exists():
        people = people.filter(team_id=case.team_id)
    return notify(
        recipients=list(people[:50]),
        kind="senior_handling",
        title=f"{case.reference}: {case.customer.name} needs senior handling",
        body=f"Segments: {', '.join(segment_names)}. {case.summary}",
        url=f"/cases/{case.pk}/",
    )
