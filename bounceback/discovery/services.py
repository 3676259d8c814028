"""Discovery's writes: scans that raise suspected breakdowns, declaring or
dismissing them, and the hooks that hand new signals, cases and messages to the
rules (see rules.py for the rule services, actions.py for what rules do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.actors import ActorLike
from bounceback.discovery import spikes
from bounceback.discovery.models import SuspectedBreakdown
from bounceback.errors import Conflict, ValidationFailed
from bounceback.notifications.services import notify
from bounceback.webhooks.events import webhook_publish

if TYPE_CHECKING:
    from bounceback.breakdowns.models import Breakdown
    from bounceback.cases.models import Case
    from bounceback.interactions.models import Interaction
    from bounceback.playbooks.models import Playbook

# After a spike ends, the same series raises no new suspicion for this long.
COOL_DOWN = {"hour": timedelta(hours=12), "day": timedelta(days=3)}
STATUS_LIVE = (SuspectedBreakdown.Status.OPEN, SuspectedBreakdown.Status.ENDED)


@dataclass(frozen=True)
class ScanResult:
    spikes: list[spikes.Spike]
    raised: list[SuspectedBreakdown]
    updated: list[SuspectedBreakdown]


def value_label(dimension: str, value: str) -> str:
    if dimension == "site" and value.isdigit():
        from bounceback.sites.models import Site

        site = Site.objects.filter(pk=int(value)).first()
        return site.name if site else value
    return value


def suspected_title(suspect: SuspectedBreakdown) -> str:
    label = value_label(suspect.dimension, suspect.value)
    return f"Spike in {suspect.dimension} {label}"


def _payload(suspect: SuspectedBreakdown) -> dict[str, object]:
    return {
        "suspected_breakdown": {
            "id": suspect.pk,
            "reference": suspect.reference,
            "dimension": suspect.dimension,
            "value": value_label(suspect.dimension, suspect.value),
            "bucket": suspect.bucket,
            "first_bucket_at": suspect.first_bucket_at.isoformat(),
            "last_bucket_at": suspect.last_bucket_at.isoformat(),
            "peak_count": suspect.peak_count,
            "baseline": suspect.baseline,
            "p_value": suspect.p_value,
            "url": f"{settings.BOUNCEBACK_PUBLIC_URL}/discovery/suspected/{suspect.pk}/",
        }
    }


def _managers() -> list[User]:
    return list(User.objects.filter(role__in=[Role.MANAGER, Role.LEAD], is_active=True))


# Long on purpose: one pass turns the scan's spikes into suspicions, keeping
# "one spike, one alert" (updated while it lasts, quiet while it cools down).
@transaction.atomic
def discovery_scan(
    *,
    since: datetime,
    until: datetime,
    record: bool = True,
    buckets: tuple[str, ...] = ("day", "hour"),
) -> ScanResult:
    """Find spikes between since and until; with `record`, raise or update one
    SuspectedBreakdown per spike, notify leads and managers of new ones and
    publish breakdown.suspected. Safe to run again over the same window."""
    if until <= since:
        raise ValidationFailed("until must be after since", field="until")
    found, series_list = spikes.scan(since=since, until=until, buckets=buckets)
    raised: list[SuspectedBreakdown] = []
    updated: list[SuspectedBreakdown] = []
    if not record:
        return ScanResult(found, raised, updated)
    by_key = {(s.dimension, s.value, s.bucket): s for s in series_list}
    for spike in found:
        step = spikes.BUCKETS[spike.bucket]
        live = (
            SuspectedBreakdown.objects.select_for_update()
            .filter(dimension=spike.dimension, value=spike.value)
            .exclude(status=SuspectedBreakdown.Status.DISMISSED, cool_down_until__lt=spike.at)
            .order_by("-last_bucket_at")
            .first()
        )
        series = by_key[(spike.dimension, spike.value, spike.bucket)]
        # The same spike goes on (the next bucket, or its hour within a day already
        # raised) or comes back within the cool-down: one spike, one alert.
        live_step = spikes.BUCKETS[live.bucket] if live is not None else step
        if live is not None and (
            live.last_bucket_at + live_step >= spike.at
            or (live.cool_down_until and spike.at <= live.cool_down_until)
        ):
            if spike.at <= live.last_bucket_at and spike.count <= live.peak_count:
                continue
            live.last_bucket_at = max(live.last_bucket_at, spike.at)
            if spike.count > live.peak_count:
                live.peak_count, live.baseline, live.p_value = (
                    spike.count,
                    spike.baseline,
                    spike.p_value,
                )
            live.cool_down_until = live.last_bucket_at + live_step + COOL_DOWN[live.bucket]
            if live.status == SuspectedBreakdown.Status.ENDED:
                live.status = SuspectedBreakdown.Status.OPEN
            if spike.bucket == live.bucket:
                live.evidence = spikes.evidence_of(series, live.last_bucket_at)
            live.save()
            updated.append(live)
            continue
        same = _same_alert(spike, _live_around(spike))
        if same is not None:
            # The same customers seen through another dimension (the depot's site
            # and its "delivery late" category): one spike, one alert.
            also = same.evidence.setdefault("also", [])
            entry = [spike.dimension, spike.value]
            if entry not in also:
                also.append(entry)
                same.save(update_fields=["evidence", "updated_at"])
            continue
        suspect = SuspectedBreakdown.objects.create(
            dimension=spike.dimension,
            value=spike.value,
            bucket=spike.bucket,
            first_bucket_at=spike.at,
            last_bucket_at=spike.at,
            peak_count=spike.count,
            baseline=spike.baseline,
            p_value=spike.p_value,
            evidence=spikes.evidence_of(series, spike.at),
            cool_down_until=spike.at + step + COOL_DOWN[spike.bucket],
        )
        suspect.reference = f"SB-{suspect.pk:05d}"
        suspect.save(update_fields=["reference"])
        raised.append(suspect)
        notify(
            recipients=_managers(),
            kind="breakdown_suspected",
            title=f"{suspected_title(suspect)}: {spike.count} customers "
            f"(usually {spike.baseline:g})",
            body="Discovery found a spike that may be a breakdown. Declare or dismiss it.",
            url=f"/discovery/suspected/{suspect.pk}/",
        )
        webhook_publish(event="breakdown.suspected", payload=_payload(suspect))
    # A spike whose series has been quiet for a whole bucket has ended.
    for suspect in SuspectedBreakdown.objects.filter(
        status=SuspectedBreakdown.Status.OPEN,
        last_bucket_at__lt=until - timedelta(days=1),
    ).exclude(pk__in=[s.pk for s in raised + updated]):
        suspect.status = SuspectedBreakdown.Status.ENDED
        suspect.save(update_fields=["status", "updated_at"])
    return ScanResult(found, raised, updated)


def _live_around(spike: spikes.Spike) -> list[SuspectedBreakdown]:
    """Suspicions that are live around the spike's time (few: spikes are rare)."""
    step = spikes.BUCKETS[spike.bucket]
    return list(
        SuspectedBreakdown.objects.filter(
            status__in=[*STATUS_LIVE, SuspectedBreakdown.Status.DECLARED],
            first_bucket_at__lt=spike.at + step,
            last_bucket_at__gte=spike.at - timedelta(days=1),
        ).order_by("id")
    )


def _same_alert(spike: spikes.Spike, alerts: list[SuspectedBreakdown]) -> SuspectedBreakdown | None:
    """An alert of this scan over mostly the same customers at the same time, if any."""
    step = spikes.BUCKETS[spike.bucket]
    mine: set[str] | None = None
    for alert in alerts:
        if [spike.dimension, spike.value] in alert.evidence.get("also", []):
            return alert
        alert_step = spikes.BUCKETS[alert.bucket]
        if alert.dimension == spike.dimension or not (
            alert.first_bucket_at < spike.at + step and spike.at < alert.last_bucket_at + alert_step
        ):
            continue
        if mine is None:
            mine = spikes.who_in(
                dimension=spike.dimension, value=spike.value, start=spike.at, end=spike.at + step
            )
        theirs = spikes.who_in(
            dimension=alert.dimension,
            value=alert.value,
            start=spike.at,
            end=spike.at + step,
        )
        if mine and theirs and len(mine & theirs) >= 0.5 * min(len(mine), len(theirs)):
            return alert
    return None


def suspected_matching_cases(suspect: SuspectedBreakdown) -> list[int]:
    """Open cases in the suspicion's series (or the other dimensions the same
    customers spiked in) since it began; linked when it is declared."""
    from bounceback.cases.models import Case

    # Since the spike began: the cases opened while it lasted and after it, still open.
    cases = Case.objects.exclude(status=Case.Status.CLOSED).filter(
        created_at__gte=suspect.first_bucket_at
    )
    from django.db.models import Q

    match = Q(pk__in=[])
    for dimension, value in [
        (suspect.dimension, suspect.value),
        *(tuple(pair) for pair in suspect.evidence.get("also", [])),
    ]:
        if dimension == "site":
            match |= Q(site_id=int(value) if value.isdigit() else -1)
        elif dimension == "category":
            match |= Q(failure_mode__title=value) | Q(category=value)
        elif dimension in ("product", "channel"):
            match |= Q(**{dimension: value})
    return list(cases.filter(match).order_by("id").values_list("pk", flat=True)[:500])


def suspected_playbook(suspect: SuspectedBreakdown) -> Playbook | None:
    """The playbook for the suspicion's failure mode, when the series names one."""
    from bounceback.playbooks.models import Playbook

    if suspect.dimension != "category":
        return None
    return (
        Playbook.objects.filter(failure_mode__title=suspect.value, archived=False)
        .order_by("id")
        .first()
    )


@transaction.atomic
def suspected_declare(
    *,
    suspect: SuspectedBreakdown,
    actor: ActorLike,
    playbook: Playbook | None = None,
    title: str | None = None,
) -> Breakdown:
    """Declare a breakdown from a suspicion, pre-filled: the window of the spike,
    its site or product, the failure mode's playbook; the open cases in the
    series are linked to it."""
    from bounceback.breakdowns.services import breakdown_declare, breakdown_link_case
    from bounceback.cases.models import Case
    from bounceback.sites.models import Site

    suspect = SuspectedBreakdown.objects.select_for_update().get(pk=suspect.pk)
    if suspect.status == SuspectedBreakdown.Status.DECLARED:
        raise Conflict("this suspicion was already declared a breakdown", field="status")
    playbook = playbook or suspected_playbook(suspect)
    if playbook is None:
        raise ValidationFailed(
            "choose the playbook to run (no failure mode's playbook matches this series)",
            field="playbook_id",
        )
    # The series and the other dimensions the same customers spiked in.
    seen = {suspect.dimension: suspect.value}
    for dimension, value in suspect.evidence.get("also", []):
        seen.setdefault(dimension, value)
    site = None
    if seen.get("site", "").isdigit():
        site = Site.objects.filter(pk=int(seen["site"])).first()
    step = spikes.BUCKETS[suspect.bucket]
    breakdown = breakdown_declare(
        actor=actor,
        playbook=playbook,
        title=title or suspected_title(suspect),
        description=f"Declared from suspected breakdown {suspect.reference}: "
        f"{suspect.peak_count} customers against a usual {suspect.baseline:g}.",
        window_start=suspect.first_bucket_at,
        window_end=suspect.last_bucket_at + step,
        site=site,
        product=seen.get("product", ""),
        source="detection",
    )
    for case in Case.objects.filter(pk__in=suspected_matching_cases(suspect), breakdown=None):
        breakdown_link_case(breakdown=breakdown, case=case, actor=actor)
    suspect.status = SuspectedBreakdown.Status.DECLARED
    suspect.breakdown = breakdown
    suspect.save(update_fields=["status", "breakdown", "updated_at"])
    return breakdown


@transaction.atomic
def suspected_dismiss(*, suspect: SuspectedBreakdown, actor: ActorLike) -> SuspectedBreakdown:
    """Not a breakdown: the suspicion is closed, and its series stays quiet through
    the cool-down."""
    suspect = SuspectedBreakdown.objects.select_for_update().get(pk=suspect.pk)
    if suspect.status == SuspectedBreakdown.Status.DECLARED:
        raise Conflict("this suspicion was declared a breakdown", field="status")
    suspect.status = SuspectedBreakdown.Status.DISMISSED
    suspect.save(update_fields=["status", "updated_at"])
    return suspect


def discovery_scan_recent(*, now: datetime | None = None) -> ScanResult:
    """The clock's scan: the last two days' complete buckets."""
    now = now or timezone.now()
    return discovery_scan(since=now - timedelta(days=2), until=now)


def discovery_scan_tick(*, now: datetime) -> int:
    """The worker clock's periodic scan; returns how many suspicions it raised."""
    return len(discovery_scan_recent(now=now).raised)


def rules_on_signals(ids: list[int]) -> None:
    """Run the active rules on newly recorded signals (inside their transaction)."""
    from bounceback.discovery.rules import rules_apply_to_signals

    rules_apply_to_signals(signal_ids=ids)


RULES_JOB = "discovery_rules"
RULES_JOB_KEY = "discovery:rules"


def _mark_for_rules(input: str, object_id: int, at: datetime, flag: str) -> None:
    """Mark a new case or message for the rules that look at it, and ask for the job.

    Nothing is marked while a rule itself acts, for history (older than FRESH),
    or when no active rule looks at this kind of input."""
    from bounceback.background.services import job_request
    from bounceback.discovery.actions import acting
    from bounceback.discovery.models import Rule, RuleInput
    from bounceback.discovery.rules import FRESH

    now = timezone.now()
    if acting() or at < now - FRESH:
        return
    if not Rule.objects.filter(active=True, **{flag: True}).exists():
        return
    RuleInput.objects.bulk_create(
        [RuleInput(input=input, object_id=object_id, marked_at=now)], ignore_conflicts=True
    )
    job_request(kind=RULES_JOB, key=RULES_JOB_KEY)


def rules_on_case_opened(case: Case) -> None:
    """cases' hook: a new case (not a proactive one we opened) waits for the rules."""
    if not case.proactive:
        _mark_for_rules("case", case.pk, case.created_at, "on_cases")


def rules_on_inbound_message(interaction: Interaction) -> None:
    """interactions' hook: a customer's new message waits for the rules."""
    _mark_for_rules("message", interaction.pk, interaction.occurred_at, "on_messages")


def rules_run_marked(*, limit: int = 200) -> int:
    """Run the rules on up to `limit` marked cases and messages, oldest mark first, in
    one transaction with the marks' removal; returns how many marks were done."""
    from bounceback.discovery.models import RuleInput
    from bounceback.discovery.rules import rules_apply, seen_cases, seen_messages

    with transaction.atomic():
        marks = list(RuleInput.objects.select_for_update().order_by("id")[:limit])
        if not marks:
            return 0
        cases = [m.object_id for m in marks if m.input == "case"]
        messages = [m.object_id for m in marks if m.input == "message"]
        seen = seen_cases(cases) + seen_messages(messages)
        seen.sort(key=lambda s: (s.at, s.pk))
        rules_apply(seen=seen)
        RuleInput.objects.filter(pk__in=[m.pk for m in marks]).delete()
    return len(marks)
