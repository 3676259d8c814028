"""Writes of the learning app: case vectors, themes (and problem records)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.actors import ActorLike, actor_of
from bounceback.cases.models import Case
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.services import failure_mode_propose
from bounceback.inputs import text_field
from bounceback.learning import clustering, index, text
from bounceback.learning.models import CaseText, Problem, ProblemCase, Theme, ThemeModel
from bounceback.learning.recurrence import RateComparison, compare
from bounceback.learning.selectors import case_words, problem_cases, volume_between

REFRESH_BATCH = 200


def case_texts_refresh(*, now: datetime | None = None, limit: int = REFRESH_BATCH) -> int:
    """Make the vectors of up to `limit` cases that have none (or an old version's).

    Runs on the worker's clock; idempotent (a row made twice is the same row).
    Returns how many were made.
    """
    now = now or timezone.now()
    # A drill's cases are practice: they shape no theme and are nobody's "similar case".
    missing = list(
        Case.objects.real()
        .filter(Q(text_vector__isnull=True) | ~Q(text_vector__version=text.VERSION))
        .order_by("id")
        .only("id", "summary", "description", "what_went_wrong")[:limit]
    )
    if not missing:
        return 0
    return len(case_texts_store(cases=missing, now=now))


def case_texts_store(*, cases: list[Case], now: datetime | None = None) -> list[CaseText]:
    """Compute and store the vectors of these cases (replacing older ones)."""
    now = now or timezone.now()
    words = [case_words(c) for c in cases]
    matrix = text.vectors(words)
    rows = [
        CaseText(
            case_id=c.pk,
            vector=np.ascontiguousarray(matrix[i], dtype=np.float32).tobytes(),
            version=text.VERSION,
            digest=CaseText.digest_of(words[i]),
            updated_at=now,
        )
        for i, c in enumerate(cases)
    ]
    _place(rows, matrix)
    with transaction.atomic():
        CaseText.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["case"],
            update_fields=["vector", "version", "digest", "updated_at", "theme", "theme_fit"],
        )
        for theme_id, count in Counter(r.theme_id for r in rows if r.theme_id).items():
            Theme.objects.filter(pk=theme_id).update(
                case_count=F("case_count") + count, recent_count=F("recent_count") + count
            )
    return rows


# --- Themes -------------------------------------------------------------------------------

RECENT = timedelta(days=7)
BEFORE = timedelta(days=21)
# A theme grows when its last week has at least this many cases and at least
# GROWTH times its weekly average over the three weeks before.
GROWING_MIN = 3
GROWTH = 2.0
THEMES_JOB = "learning.themes"


def _floats(blob: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(blob), dtype=np.float32)


def _bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.float32).tobytes()


def _place(rows: list[CaseText], matrix: np.ndarray) -> None:
    """Give each new vector the theme whose centre is nearest (when themes exist)."""
    model = ThemeModel.objects.order_by("-computed_at", "-id").first()
    themes = list(Theme.objects.active().only("id", "centre"))
    if model is None or not themes:
        return
    weights = _floats(model.weights)
    projection = _floats(model.projection).reshape(model.dims, text.DIM)
    placed = text.normalise(text.search_matrix(matrix, weights) @ projection.T)
    centres = np.vstack([_floats(t.centre) for t in themes])
    scores = placed @ centres.T
    best = scores.argmax(1)
    for i, row in enumerate(rows):
        row.theme_id = themes[int(best[i])].pk
        row.theme_fit = float(scores[i, best[i]])


def _label(words: list[str]) -> str:
    return ", ".join(words)[:200]


def _counts(created: np.ndarray, now: datetime) -> tuple[int, int]:
    """Cases in the last RECENT, and in the BEFORE ahead of it (timestamps in seconds)."""
    stamp = now.timestamp()
    recent_start = stamp - RECENT.total_seconds()
    before_start = recent_start - BEFORE.total_seconds()
    recent = int((created > recent_start).sum())
    previous = int(((created <= recent_start) & (created > before_start)).sum())
    return recent, previous


def _is_growing(recent: int, previous: int) -> bool:
    weekly_before = previous / (BEFORE / RECENT)
    return recent >= GROWING_MIN and recent >= GROWTH * max(weekly_before, 1.0)


# Reads every vector, clusters (clustering.fit), keeps the identity (and the
# staff-given name) of each old theme whose cases mostly stay together, makes
# new themes for the rest and retires the old ones nobody inherited; then
# writes every case's theme. One transaction: readers see the old themes or
# the new ones, never half of each.
def themes_recompute(*, now: datetime | None = None, k: int | None = None) -> ThemeModel | None:
    """Cluster every case's text into themes again; flag new and fast-growing ones.

    Returns the new theme model, or None when there are fewer than 4 cases.
    """
    now = now or timezone.now()
    ids, raw = index._read(None)
    if len(ids) < 4:
        return None
    weights = text.idf(raw[:, : text.WORD_DIM])
    full = text.search_matrix(raw, weights)
    del raw
    model, labels = clustering.fit(full, k)
    _, fits = model.assign(full)
    del full
    cases = dict(Case.objects.filter(pk__in=ids.tolist()).values_list("pk", "created_at"))
    created = np.array([cases.get(int(i), now).timestamp() for i in ids])
    words = _words_of(ids, labels)
    old = dict(CaseText.objects.filter(case_id__in=ids.tolist()).values_list("case_id", "theme_id"))
    first_time = not Theme.objects.exists()
    with transaction.atomic():
        stored = ThemeModel.objects.create(
            weights=_bytes(weights),
            projection=_bytes(model.projection),
            dims=model.projection.shape[0],
            cases=len(ids),
            computed_at=now,
        )
        theme_of = _themes_match(ids, labels, old)
        kept: dict[int, Theme] = {}
        for j in range(len(model.centres)):
            members = labels == j
            recent, previous = _counts(created[members], now)
            values = {
                "label": _label(words.get(j, [])),
                "words": words.get(j, []),
                "centre": _bytes(model.centres[j]),
                "case_count": int(members.sum()),
                "recent_count": recent,
                "previous_count": previous,
                "growing": _is_growing(recent, previous),
                "computed_at": now,
                "state": Theme.State.ACTIVE,
            }
            theme_id = theme_of.get(j)
            if theme_id is not None:
                Theme.objects.filter(pk=theme_id).update(is_new=False, **values)
                kept[j] = Theme(pk=theme_id)
            else:
                kept[j] = Theme.objects.create(is_new=not first_time, created_at=now, **values)
        Theme.objects.active().exclude(pk__in=[t.pk for t in kept.values()]).update(
            state=Theme.State.RETIRED, computed_at=now
        )
        rows = [
            CaseText(case_id=int(c), theme_id=kept[int(labels[i])].pk, theme_fit=float(fits[i]))
            for i, c in enumerate(ids)
        ]
        CaseText.objects.bulk_update(rows, ["theme", "theme_fit"], batch_size=1000)
    return stored


def _themes_match(
    ids: np.ndarray, labels: np.ndarray, old: Mapping[int, int | None]
) -> dict[int, int]:
    """Which new cluster inherits which old active theme: greedily by shared cases,
    when the shared cases are at least half of the smaller of the two."""
    active = set(Theme.objects.active().values_list("pk", flat=True))
    sizes_old = Counter(t for t in old.values() if t in active)
    sizes_new = Counter(int(x) for x in labels)
    shared: Counter[tuple[int, int]] = Counter()
    for i, c in enumerate(ids):
        previous = old.get(int(c))
        if previous in active:
            shared[(int(labels[i]), previous)] += 1
    out: dict[int, int] = {}
    taken: set[int] = set()
    for (j, t), n in shared.most_common():
        if j in out or t in taken:
            continue
        if n >= 0.5 * min(sizes_new[j], sizes_old[t]):
            out[j] = t
            taken.add(t)
    return out


def _words_of(ids: np.ndarray, labels: np.ndarray, per_theme: int = 400) -> dict[int, list[str]]:
    """Distinctive words of each cluster, from up to `per_theme` of its cases' texts."""
    rng = np.random.default_rng(0)
    chosen: dict[int, list[int]] = {}
    for j in np.unique(labels):
        members = ids[labels == j]
        if len(members) > per_theme:
            members = rng.choice(members, per_theme, replace=False)
        chosen[int(j)] = [int(m) for m in members]
    wanted = [c for members in chosen.values() for c in members]
    cases = Case.objects.filter(pk__in=wanted).only("summary", "description", "what_went_wrong")
    terms = {c.pk: text.terms(case_words(c)) for c in cases}
    everyone: Counter[str] = Counter()
    for t in terms.values():
        everyone.update(set(t))
    return {
        j: clustering.distinctive_words(
            [terms[c] for c in members if c in terms], everyone, len(terms)
        )
        for j, members in chosen.items()
    }


def themes_recompute_due(*, now: datetime | None = None) -> int:
    """The clock's part: ask for a recompute when the last one is older than THEMES_EVERY."""
    from django.conf import settings

    from bounceback.background.services import job_request

    now = now or timezone.now()
    every = timedelta(hours=settings.BOUNCEBACK_THEMES_EVERY_HOURS)
    last = ThemeModel.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
    if last is not None and now - last < every:
        return 0
    if not CaseText.objects.exists():
        return 0
    with transaction.atomic():
        job_request(kind=THEMES_JOB, key=f"{THEMES_JOB}:{now:%Y%m%d%H}")
    return 1


def _require(actor: ActorLike, permission: str, doing: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden(f"your role may not {doing}", code="missing_permission")


def theme_rename(*, theme: Theme, name: str, actor: ActorLike) -> Theme:
    """Give a theme a name people use (kept across recomputes while its cases stay together)."""
    _require(actor, "learning.change_theme", "name themes")
    name = text_field(name, field="name", max_length=120)
    theme.name = name
    theme.save(update_fields=["name"])
    return theme


def _require_active(theme: Theme, field: str = "theme") -> None:
    if theme.state != Theme.State.ACTIVE:
        raise Conflict(f"theme {theme.pk} is {theme.state}, not active", field=field)


def theme_merge(*, theme: Theme, into: Theme, actor: ActorLike) -> Theme:
    """Move every case of `theme` into `into`; `theme` is kept as merged. Locks both, by id."""
    _require(actor, "learning.change_theme", "merge themes")
    if theme.pk == into.pk:
        raise ValidationFailed("a theme cannot be merged into itself", field="into_id")
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Theme.objects.select_for_update()
            .filter(pk__in=[theme.pk, into.pk])
            .order_by("pk")
        }
        theme, into = locked[theme.pk], locked[into.pk]
        _require_active(theme)
        _require_active(into, "into_id")
        centre = text.normalise(
            (
                _floats(theme.centre) * theme.case_count + _floats(into.centre) * into.case_count
            ).reshape(1, -1)
        )[0]
        CaseText.objects.filter(theme=theme).update(theme=into)
        into.centre = _bytes(centre)
        into.case_count += theme.case_count
        into.recent_count += theme.recent_count
        into.previous_count += theme.previous_count
        into.growing = _is_growing(into.recent_count, into.previous_count)
        into.save(
            update_fields=["centre", "case_count", "recent_count", "previous_count", "growing"]
        )
        theme.state = Theme.State.MERGED
        theme.merged_into = into
        theme.save(update_fields=["state", "merged_into"])
    return into


def theme_split(*, theme: Theme, actor: ActorLike, now: datetime | None = None) -> list[Theme]:
    """Split a theme in two by clustering its own cases; the theme is retired."""
    _require(actor, "learning.change_theme", "split themes")
    _require_active(theme)
    now = now or timezone.now()
    model = ThemeModel.objects.order_by("-computed_at", "-id").first()
    members = list(CaseText.objects.filter(theme=theme).values_list("case_id", "vector"))
    if model is None or len(members) < 4:
        raise Conflict("a theme needs at least 4 cases to be split", field="theme")
    ids = np.array([m[0] for m in members])
    raw = np.vstack([_floats(m[1]) for m in members])
    weights = _floats(model.weights)
    projection = _floats(model.projection).reshape(model.dims, text.DIM)
    placed = text.normalise(text.search_matrix(raw, weights) @ projection.T)
    labels = clustering.kmeans(placed, 2)
    if len(set(labels.tolist())) < 2:
        raise Conflict("the theme's cases do not fall into two groups", field="theme")
    words = _words_of(ids, labels)
    created = dict(Case.objects.filter(pk__in=ids.tolist()).values_list("pk", "created_at"))
    parts = []
    with transaction.atomic():
        locked = Theme.objects.select_for_update().get(pk=theme.pk)
        _require_active(locked)
        for j in (0, 1):
            part = labels == j
            centre = text.normalise(placed[part].sum(0).reshape(1, -1))[0]
            when = np.array([created[int(c)].timestamp() for c in ids[part]])
            recent, previous = _counts(when, now)
            made = Theme.objects.create(
                label=_label(words.get(j, [])),
                words=words.get(j, []),
                centre=_bytes(centre),
                case_count=int(part.sum()),
                recent_count=recent,
                previous_count=previous,
                growing=_is_growing(recent, previous),
                split_from=locked,
                created_at=now,
                computed_at=now,
            )
            fits = placed[part] @ centre
            CaseText.objects.bulk_update(
                [
                    CaseText(case_id=int(c), theme_id=made.pk, theme_fit=float(f))
                    for c, f in zip(ids[part], fits, strict=True)
                ],
                ["theme", "theme_fit"],
            )
            parts.append(made)
        locked.state = Theme.State.RETIRED
        locked.save(update_fields=["state"])
    return parts


def theme_propose_failure_mode(
    *,
    theme: Theme,
    touchpoint: Touchpoint,
    actor: ActorLike,
    title: str = "",
    severity: int = 5,
    occurrence: int = 5,
    detection: int = 5,
) -> FailureMode:
    """Propose a failure mode for the catalog from a theme (the catalog's usual vote follows)."""
    _require_active(theme)
    if theme.proposal_id is not None:
        raise Conflict("this theme has already been proposed as a failure mode", field="theme")
    with transaction.atomic():
        mode = failure_mode_propose(
            actor=actor,
            touchpoint=touchpoint,
            title=title or theme.title[:160],
            description=f"Found as a theme of {theme.case_count} cases: {theme.label}",
            severity=severity,
            occurrence=occurrence,
            detection=detection,
        )
        Theme.objects.filter(pk=theme.pk).update(proposal=mode)
    theme.proposal = mode
    return mode


# --- Problem records ------------------------------------------------------------------------

# The longest window compared on each side of the corrective action, and the
# shortest "after" that may count as evidence at all.
CHECK_WINDOW = timedelta(days=56)
MIN_AFTER = timedelta(days=14)
# A verified problem reopens when this many matching cases arrive after its
# verification at a rate not significantly below the rate before the action.
REOPEN_MIN_CASES = 3


def _problem_reference(problem: Problem) -> None:
    problem.reference = f"PRB-{problem.pk:04d}"
    problem.save(update_fields=["reference"])


def problem_create(
    *,
    actor: ActorLike,
    title: str,
    description: str = "",
    theme: Theme | None = None,
    failure_mode: FailureMode | None = None,
    cases: Sequence[Case] = (),
    now: datetime | None = None,
) -> Problem:
    """Open a problem record grouping cases with one cause: by hand (`cases`), from a
    theme, or from a failure mode (matching cases follow them as they arrive)."""
    _require(actor, "learning.add_problem", "open problem records")
    title = text_field(title, field="title", max_length=200, required=True)
    description = text_field(description, field="description")
    if theme is not None and theme.state != Theme.State.ACTIVE:
        raise Conflict(f"theme {theme.pk} is {theme.state}, not active", field="theme_id")
    if theme is None and failure_mode is None and not cases:
        raise ValidationFailed(
            "choose what the problem groups: cases, a theme or a failure mode", field="case_ids"
        )
    with transaction.atomic():
        problem = Problem.objects.create(
            title=title,
            description=description,
            theme=theme,
            failure_mode=failure_mode,
            created_by=actor_of(actor).user,
            created_at=now or timezone.now(),
        )
        _problem_reference(problem)
        ProblemCase.objects.bulk_create(
            [ProblemCase(problem=problem, case=c) for c in cases], ignore_conflicts=True
        )
    return problem


def problem_from_theme(*, theme: Theme, actor: ActorLike) -> Problem:
    """A problem record for a theme's cases, titled after it."""
    return problem_create(
        actor=actor,
        title=theme.title[:200],
        description=f"From the theme “{theme.title}” ({theme.case_count} cases).",
        theme=theme,
    )


_PROBLEM_FIELDS = {"title", "description", "root_cause", "corrective_action", "workaround"}


def problem_update(
    *,
    problem: Problem,
    actor: ActorLike,
    action_owner: User | None = None,
    action_due: date | None = None,
    **changes: str,
) -> Problem:
    """Edit the root cause, the corrective action (owner, due date) and the workaround."""
    _require(actor, "learning.change_problem", "edit problem records")
    unknown = set(changes) - _PROBLEM_FIELDS
    if unknown:
        raise ValidationFailed(
            f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
        )
    clean = {
        k: text_field(v, field=k, max_length=200, required=True)
        if k == "title"
        else text_field(v, field=k)
        for k, v in changes.items()
    }
    if action_owner is not None and not action_owner.is_active:
        raise ValidationFailed(
            "the owner must be an active member of staff", field="action_owner_id"
        )
    with transaction.atomic():
        locked = Problem.objects.select_for_update().get(pk=problem.pk)
        fields = list(clean)
        for k, v in clean.items():
            setattr(locked, k, v)
        if action_owner is not None:
            locked.action_owner = action_owner
            fields.append("action_owner")
        if action_due is not None:
            locked.action_due = action_due
            fields.append("action_due")
        if fields:
            locked.save(update_fields=fields)
    return locked


def problem_action_done(
    *, problem: Problem, actor: ActorLike, at: datetime | None = None
) -> Problem:
    """The corrective action is in place (from `at`): from now on the rate is watched."""
    _require(actor, "learning.change_problem", "edit problem records")
    with transaction.atomic():
        locked = Problem.objects.select_for_update().get(pk=problem.pk)
        if not locked.corrective_action.strip():
            raise ValidationFailed(
                "describe the corrective action first", field="corrective_action"
            )
        if locked.status == Problem.Status.VERIFIED_FIXED:
            raise Conflict("the problem is already verified fixed", field="status")
        locked.action_done_at = at or timezone.now()
        locked.status = Problem.Status.WATCHING
        locked.save(update_fields=["action_done_at", "status"])
    return locked


def problem_add_case(*, problem: Problem, case: Case, actor: ActorLike) -> ProblemCase:
    """Put a case in the problem by hand (again changes nothing)."""
    _require(actor, "learning.change_problem", "edit problem records")
    link, _ = ProblemCase.objects.get_or_create(problem=problem, case=case)
    return link


def problem_compare(*, problem: Problem, now: datetime | None = None) -> RateComparison | None:
    """Matching cases per transaction after the corrective action against the same length
    of time before it (at most CHECK_WINDOW each side); None before the action."""
    if problem.action_done_at is None:
        return None
    now = now or timezone.now()
    done = problem.action_done_at
    span = min(now - done, CHECK_WINDOW)
    cases = problem_cases(problem=problem)
    return compare(
        before_cases=cases.filter(created_at__gte=done - span, created_at__lt=done).count(),
        before_volume=volume_between(done - span, done),
        after_cases=cases.filter(created_at__gte=done, created_at__lt=done + span).count(),
        after_volume=volume_between(done, done + span),
    )


def problem_verify(*, problem: Problem, now: datetime | None = None) -> Problem:
    """Check whether recurrence really dropped; mark it verified fixed only when the rate
    after is significantly lower (one-sided Poisson rate test, p < 0.05) with at least
    MIN_AFTER of evidence. Writes the check either way."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Problem.objects.select_for_update().get(pk=problem.pk)
        if locked.action_done_at is None:
            raise Conflict("mark the corrective action done first", field="action_done_at")
        result = problem_compare(problem=locked, now=now)
        assert result is not None
        check = {**result.as_dict(), "enough_time": now - locked.action_done_at >= MIN_AFTER}
        locked.last_check = check
        locked.checked_at = now
        fields = ["last_check", "checked_at"]
        if (
            locked.status in (Problem.Status.WATCHING, Problem.Status.REOPENED)
            and result.dropped
            and check["enough_time"]
        ):
            locked.status = Problem.Status.VERIFIED_FIXED
            locked.verified_at = now
            fields += ["status", "verified_at"]
        locked.save(update_fields=fields)
    return locked


def problem_check_recurrence(*, problem: Problem, now: datetime | None = None) -> Problem:
    """Reopen a verified problem whose cases came back: at least REOPEN_MIN_CASES since
    verification at a rate not significantly below the rate before the action."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Problem.objects.select_for_update().get(pk=problem.pk)
        if locked.status != Problem.Status.VERIFIED_FIXED or locked.verified_at is None:
            return locked
        done = locked.action_done_at or locked.verified_at
        span = CHECK_WINDOW
        cases = problem_cases(problem=locked)
        since = cases.filter(created_at__gte=locked.verified_at, created_at__lt=now).count()
        result = compare(
            before_cases=cases.filter(created_at__gte=done - span, created_at__lt=done).count(),
            before_volume=volume_between(done - span, done),
            after_cases=since,
            after_volume=volume_between(locked.verified_at, now),
        )
        locked.checked_at = now
        locked.last_check = {**locked.last_check, "since_verified": result.as_dict()}
        fields = ["checked_at", "last_check"]
        if since >= REOPEN_MIN_CASES and result.rose_or_held:
            locked.status = Problem.Status.REOPENED
            locked.reopened_at = now
            fields += ["status", "reopened_at"]
        locked.save(update_fields=fields)
    return locked


def problems_check(*, now: datetime | None = None) -> dict[str, int]:
    """The clock's hourly part: verify problems being watched, reopen those that came back."""
    now = now or timezone.now()
    stale = now - timedelta(hours=1)
    due = Problem.objects.filter(
        status__in=[Problem.Status.WATCHING, Problem.Status.VERIFIED_FIXED, Problem.Status.REOPENED]
    ).filter(Q(checked_at__isnull=True) | Q(checked_at__lt=stale))
    verified = reopened = 0
    for problem in due[:200]:
        if problem.status == Problem.Status.VERIFIED_FIXED:
            if problem_check_recurrence(problem=problem, now=now).status == Problem.Status.REOPENED:
                reopened += 1
        elif (
            problem.action_done_at is not None
            and problem_verify(problem=problem, now=now).status == Problem.Status.VERIFIED_FIXED
        ):
            verified += 1
    return {"verified": verified, "reopened": reopened}
