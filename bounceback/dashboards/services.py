"""Writes of the dashboards' own roll-up tables (see models.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.dashboards.models import Conversation, LoyaltyFigure, RollupMark
from bounceback.interactions.models import Interaction

if TYPE_CHECKING:
    from bounceback.dashboards.filters import DashboardFilters

CONVERSATIONS = "conversations"
CHUNK = 5000
# Sources whose outbound messages nobody wrote (acknowledgements, outreach).
AUTOMATIC_SOURCES = frozenset({"bounceback"})


def conversation_key(*, thread_ref: str, case_id: int | None) -> str | None:
    """Which conversation a message belongs to: its thread, else its case, else none
    (a lone note on a customer's timeline is not a conversation)."""
    if thread_ref:
        return f"thread:{thread_ref}"[:320]
    if case_id is not None:
        return f"case:{case_id}"
    return None


def _is_staff_reply(direction: str, author_id: int | None, author_name: str, source: str) -> bool:
    if direction != Interaction.Direction.OUTBOUND:
        return False
    return author_id is not None or (bool(author_name) and source not in AUTOMATIC_SOURCES)


def _rows_of(keys: Iterable[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every message of these conversations, read whole (a later message may be older
    than the ones already counted: imports bring history in any order)."""
    threads = [k[len("thread:") :] for k in keys if k.startswith("thread:")]
    cases = [int(k[len("case:") :]) for k in keys if k.startswith("case:")]
    columns = (
        "thread_ref",
        "case_id",
        "customer_id",
        "channel",
        "direction",
        "author_id",
        "author_name",
        "source",
        "occurred_at",
    )
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    parts = []
    if threads:
        parts.append(Interaction.objects.filter(thread_ref__in=threads))
    if cases:
        parts.append(Interaction.objects.filter(case_id__in=cases, thread_ref=""))
    for rows in parts:
        for row in rows.order_by().values_list(*columns):
            key = conversation_key(thread_ref=row[0], case_id=row[1])
            if key is not None:
                found[key].append(row)
    return found


def _summarise(
    key: str, rows: list[tuple[Any, ...]], sites: dict[int, tuple[Any, Any]]
) -> Conversation:
    rows.sort(key=lambda r: r[8])
    first_in = next((r for r in rows if r[4] == Interaction.Direction.INBOUND), None)
    reply = None
    if first_in is not None:
        reply = next(
            (r for r in rows if r[8] >= first_in[8] and _is_staff_reply(r[4], r[5], r[6], r[7])),
            None,
        )
    case_id = next((r[1] for r in rows if r[1] is not None), None)
    site_id, team_id = sites.get(case_id, (None, None)) if case_id is not None else (None, None)
    head = first_in or rows[0]
    return Conversation(
        key=key,
        customer_id=head[2],
        case_id=case_id,
        site_id=site_id,
        team_id=team_id,
        channel=head[3],
        first_customer_at=first_in[8] if first_in else None,
        first_reply_at=reply[8] if reply else None,
        response_seconds=(
            max(0, int((reply[8] - first_in[8]).total_seconds())) if reply and first_in else None
        ),
    )


def conversations_rebuild(*, keys: set[str]) -> int:
    """Recompute these conversations from their messages; returns how many were written."""
    if not keys:
        return 0
    grouped = _rows_of(keys)
    case_ids = {r[1] for rows in grouped.values() for r in rows if r[1] is not None}
    sites = {
        pk: (site, team)
        for pk, site, team in Case.objects.filter(pk__in=case_ids).values_list(
            "pk", "site_id", "team_id"
        )
    }
    summaries = [_summarise(key, rows, sites) for key, rows in grouped.items()]
    Conversation.objects.bulk_create(
        summaries,
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=[
            "customer_id",
            "case_id",
            "site_id",
            "team_id",
            "channel",
            "first_customer_at",
            "first_reply_at",
            "response_seconds",
            "updated_at",
        ],
        batch_size=1000,
    )
    return len(summaries)


def conversations_refresh(*, now: datetime | None = None, most: int = 50_000) -> int:
    """Take in interactions added since the last run (at most `most`), chunk by chunk.

    Locks the roll-up's mark row, so two workers on one clock tick take turns
    instead of reading the same chunk; each chunk commits with its mark, so a
    killed worker loses nothing. Returns how many conversations were rewritten.
    """
    _ = now or timezone.now()
    written = 0
    taken = 0
    while taken < most:
        with transaction.atomic():
            RollupMark.objects.get_or_create(name=CONVERSATIONS)
            mark = RollupMark.objects.select_for_update().get(name=CONVERSATIONS)
            rows = list(
                Interaction.objects.filter(pk__gt=mark.last_id)
                .order_by("pk")
                .values_list("pk", "thread_ref", "case_id")[:CHUNK]
            )
            if not rows:
                break
            keys = {
                k
                for _pk, thread, case_id in rows
                if (k := conversation_key(thread_ref=thread, case_id=case_id)) is not None
            }
            written += conversations_rebuild(keys=keys)
            mark.last_id = rows[-1][0]
            mark.save(update_fields=["last_id", "updated_at"])
            taken += len(rows)
        if len(rows) < CHUNK:
            break
    return written


# --- Revenue kept, worked out in the background --------------------------------------------

WANTED_FOR = timedelta(days=1)
KEPT_FOR = timedelta(days=7)


def loyalty_figure_want(*, filters: DashboardFilters, now: datetime | None = None) -> None:
    """Mark the money tile's loyalty slice for these filters as wanted (the clock works it
    out within a minute, and again every LOYALTY_TTL while someone looks at it)."""
    from bounceback.dashboards.selectors import loyalty_slice

    now = now or timezone.now()
    key, since, until = loyalty_slice(filters)
    updated = LoyaltyFigure.objects.filter(key=key).update(wanted_at=now)
    if not updated:
        LoyaltyFigure.objects.bulk_create(
            [
                LoyaltyFigure(
                    key=key,
                    since=since,
                    until=until,
                    site=filters.site,
                    segment=filters.segment,
                    currency=settings.BOUNCEBACK_CURRENCY,
                    wanted_at=now,
                )
            ],
            ignore_conflicts=True,
        )


def loyalty_figures_refresh(*, now: datetime | None = None) -> int:
    """Work out the most overdue wanted slice (one per call: the loyalty report takes
    seconds at scale, and the clock calls again next minute). The default slice (every
    site and customer, the year to today) is always wanted. Returns slices worked out."""
    from bounceback.dashboards.filters import dashboard_filters
    from bounceback.dashboards.selectors import LOYALTY_TTL
    from bounceback.loyalty.selectors import Filters, loyalty_report

    now = now or timezone.now()
    loyalty_figure_want(filters=dashboard_filters(), now=now)
    stale = now - timedelta(seconds=LOYALTY_TTL)
    row = (
        LoyaltyFigure.objects.filter(wanted_at__gte=now - WANTED_FOR)
        .filter(Q(computed_at__isnull=True) | Q(computed_at__lt=stale))
        .order_by(F("computed_at").asc(nulls_first=True), "pk")
        .first()
    )
    if row is None:
        return 0
    report = loyalty_report(
        since=row.since,
        until=row.until,
        filters=Filters(site=row.site, segment=row.segment),
        now=now,
    )
    LoyaltyFigure.objects.filter(pk=row.pk).update(
        revenue_kept=report.money.revenue_kept,
        revenue_at_risk=report.money.revenue_at_risk,
        currency=report.money.currency,
        computed_at=now,
    )
    return 1


def loyalty_figures_forget(*, now: datetime | None = None) -> int:
    """Housekeeping: drop slices nobody has wanted for a week."""
    now = now or timezone.now()
    deleted, _ = LoyaltyFigure.objects.filter(wanted_at__lt=now - KEPT_FOR).delete()
    return deleted
