"""Writes of the learning app: case vectors, themes (and problem records)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.cases.models import Case
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.services import failure_mode_propose
from bounceback.inputs import text_field
from bounceback.learning import clustering, index, text
from bounceback.learning.models import CaseText, Theme, ThemeModel
from bounceback.learning.selectors import case_words

REFRESH_BATCH = 200


def case_texts_refresh(*, now: datetime | None = None, limit: int = REFRESH_BATCH) -> int:
    """Make the vectors of up to `limit` cases that have none (or an old version's).

    Runs on the worker's clock; idempotent (a row made twice is the same row).
    Returns how many were made.
    """
    now = now or timezone.now()
    missing = list(
        Case.objects.filter(Q(text_vector__isnull=True) | ~Q(text_vector__version=text.VERSION))
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
