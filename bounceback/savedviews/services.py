"""Saving, renaming and deleting one's own inbox views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from bounceback.actors import ActorLike, actor_of
from bounceback.cases.inbox import InboxQuery
from bounceback.errors import Forbidden, ValidationFailed
from bounceback.inputs import text_field
from bounceback.savedviews.models import SavedView

MAX_PER_PERSON = 50


def _check_params(params: Mapping[str, Any]) -> dict[str, str]:
    """The view's query-string values as the inbox reads them; refuses what it cannot use."""
    unknown = sorted(set(params) - set(InboxQuery().__dataclass_fields__))
    if unknown:
        raise ValidationFailed(f"unknown view setting {unknown[0]!r}", field="params")
    if any(not isinstance(v, str | int) or isinstance(v, bool) for v in params.values()):
        raise ValidationFailed("view settings are text", field="params")
    query = InboxQuery(**{k: str(v).strip() for k, v in params.items()})
    for name, reason in query.problems().items():
        raise ValidationFailed(reason, field=f"params.{name}")
    return query.to_params()


def _check_name(owner_id: int, name: str, *, exclude: int | None = None) -> str:
    name = text_field(name, field="name", required=True, max_length=80)
    taken = SavedView.objects.filter(owner_id=owner_id, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationFailed(f"you already have a view named {name!r}", field="name")
    return name


@transaction.atomic
def saved_view_create(*, name: str, params: Mapping[str, Any], actor: ActorLike) -> SavedView:
    """Keep the inbox view `params` (its query string) under `name` for the acting person.

    Refuses an empty or taken name (names are per person, any case), a setting the
    inbox does not know or a value it cannot use, and more than MAX_PER_PERSON views.
    """
    owner = actor_of(actor).user
    if owner is None:
        raise Forbidden("only a person can save a view", code="not_a_person")
    checked_name = _check_name(owner.pk, name)
    checked = _check_params(params)
    if SavedView.objects.filter(owner=owner).count() >= MAX_PER_PERSON:
        raise ValidationFailed(
            f"you can keep at most {MAX_PER_PERSON} views; delete one first", field="name"
        )
    return SavedView.objects.create(owner=owner, name=checked_name, params=checked)


def _own(view: SavedView, actor: ActorLike) -> SavedView:
    owner = actor_of(actor).user
    locked = SavedView.objects.select_for_update().filter(pk=view.pk).first()
    if locked is None or owner is None or locked.owner_id != owner.pk:
        # Someone else's view is as good as absent: its name is theirs.
        raise Forbidden("that view is not yours", code="not_owner")
    return locked


@transaction.atomic
def saved_view_rename(*, view: SavedView, name: str, actor: ActorLike) -> SavedView:
    """Rename one's own view; refuses another's view, an empty or a taken name."""
    view = _own(view, actor)
    view.name = _check_name(view.owner_id, name, exclude=view.pk)
    view.save(update_fields=["name"])
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: ActorLike) -> None:
    """Delete one's own view; refuses another's."""
    _own(view, actor).delete()
