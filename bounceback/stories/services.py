"""Writing recovery stories and recognition.

Rules for callers:
- A story is drafted only from a closed case whose customer said they were
  satisfied; one story per case. The draft leaves the customer's name out
  ("the customer") unless they agreed to be named (`customer_named`).
- Any staff member drafts, edits and nominates; publishing, editing a
  published story and recognising people are for leads and managers
  (`stories.publish_story`, `stories.add_recognition`). Services check the
  permission when a person acts; an API token's scope was checked by the API.
- Every write records an audit row; publishing announces `story.published`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.audit.services import audit_record
from bounceback.cases.models import Case
from bounceback.changes import changes_apply
from bounceback.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bounceback.failuremodes.services import failure_mode_propose
from bounceback.funds.models import Grant
from bounceback.inputs import text_field
from bounceback.stories.models import Recognition, Story
from bounceback.webhooks.events import webhook_publish

if TYPE_CHECKING:
    from bounceback.accounts.models import User
    from bounceback.failuremodes.models import FailureMode, Touchpoint

ADD = "stories.add_story"
CHANGE = "stories.change_story"
PUBLISH = "stories.publish_story"
RECOGNISE = "stories.add_recognition"

THE_CUSTOMER = "the customer"
TAG_MAX = 40
TAGS_MAX = 10
_TAG = re.compile(r"^[a-z0-9][a-z0-9 _-]*$")
_TEXTS = ("what_went_wrong", "what_we_did", "gesture", "customer_words", "prevention_idea")
_EDITABLE = {"title", *_TEXTS, "tags", "customer_named"}


# --- Checks -------------------------------------------------------------------------------


def _require(actor: ActorLike, permission: str, doing: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden(f"your role may not {doing}", code="missing_permission")


def tags_clean(value: Any) -> str:
    """A list of tags (or one comma-separated text) as the stored comma-joined text:
    lower case, trimmed, no repeats, in the order given."""
    if value is None:
        return ""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValidationFailed("tags must be a list of words", field="tags")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationFailed("each tag must be text", field="tags")
        tag = " ".join(item.split()).lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX or not _TAG.match(tag):
            raise ValidationFailed(
                f"tag {tag[:TAG_MAX]!r} must be letters, digits, spaces, - or _ "
                f"(at most {TAG_MAX} characters)",
                field="tags",
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ValidationFailed(f"at most {TAGS_MAX} tags", field="tags")
    return ",".join(tags)


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false", field=field)
    return value


def _lock(story: Story) -> Story:
    row = Story.objects.select_for_update(of=("self",)).filter(pk=story.pk).first()
    if row is None:
        raise NotFound(f"no story with id {story.pk}")
    return row


def _audit(action: str, story: Story, actor: ActorLike, **data: Any) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=f"story {story.pk}",
        data={"story_id": story.pk, "case_id": story.case_id, **data},
    )


# --- Drafting -------------------------------------------------------------------------------


def names_left_out(text: str, name: str) -> str:
    """`text` with the customer's full name, then each part of it, replaced by
    "the customer" (whole words, any case), so a story can be shared freely."""
    if not text or not name.strip():
        return text
    parts = [name.strip(), *sorted({p for p in name.split() if len(p) >= 2}, key=len, reverse=True)]
    for part in parts:
        text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", THE_CUSTOMER, text, flags=re.IGNORECASE)
    # "the customer the customer" when a full name was written first name, last name apart.
    return re.sub(r"the customer(\s+the customer)+", THE_CUSTOMER, text, flags=re.IGNORECASE)


def _gesture_text(case: Case) -> str:
    lines = []
    for grant in Grant.objects.filter(case=case).in_effect().order_by("created_at", "id"):
        worth = "worth about " if grant.estimated else ""
        line = f"{grant.get_kind_display()} ({worth}{grant.value} {grant.currency})"
        if grant.message:
            line += f": {grant.message}"
        lines.append(line)
    return "\n".join(lines)


@transaction.atomic
def story_draft_from_case(*, case: Case, actor: ActorLike, customer_named: bool = False) -> Story:
    """Draft the story of a closed case whose customer was satisfied.

    Takes what went wrong, what was done (the fix and the documented action),
    the gestures in effect and the customer's follow-up comment; leaves the
    customer's name out unless `customer_named` (they agreed). Locks the case;
    refuses a case still open, without a happy follow-up, or with a story already.
    """
    _require(actor, ADD, "draft stories")
    customer_named = _bool(customer_named, "customer_named")
    locked = Case.objects.select_for_update(of=("self",)).filter(pk=case.pk).first()
    if locked is None:
        raise NotFound(f"no case with id {case.pk}", field="case")
    if locked.status != Case.Status.CLOSED:
        raise Conflict("only a closed case can become a story", field="case", code="case_open")
    if locked.satisfied is not True:
        raise Conflict(
            "only a case whose customer was satisfied at follow-up can become a story",
            field="case",
            code="not_satisfied",
        )
    existing = Story.objects.filter(case=locked).first()
    if existing is not None:
        raise Conflict(
            f"case {locked.reference or locked.pk} already has a story: {existing.title!r}",
            field="case",
            code="duplicate",
        )
    name = "" if customer_named else locked.customer.name

    def clean(text: str) -> str:
        return names_left_out(text.strip(), name)

    did = "\n\n".join(t.strip() for t in (locked.fix_summary, locked.what_was_done) if t.strip())
    title = clean(locked.summary)[:200] or f"Case {locked.reference or locked.pk}"
    who = actor_of(actor)
    try:
        with transaction.atomic():
            story = Story.objects.create(
                case=locked,
                author=who.user,
                staff=locked.assignee or who.user,
                title=title,
                what_went_wrong=clean(locked.what_went_wrong or locked.description),
                what_we_did=clean(did),
                gesture=clean(_gesture_text(locked)),
                customer_words=clean(locked.follow_up_comment),
                prevention_idea=clean(locked.prevention_idea),
                tags=tags_clean([locked.category] if locked.category else []),
                customer_named=customer_named,
            )
    except IntegrityError:
        raise Conflict("this case already has a story", field="case", code="duplicate") from None
    _audit("story_drafted", story, actor)
    return story


# --- Editing and the way to publication ------------------------------------------------------


@transaction.atomic
def story_update(*, story: Story, actor: ActorLike, **changes: Any) -> Story:
    """Edit a story's text, tags or consent to name the customer.

    A published story is edited only by someone who may publish. Locks the story.
    """
    _require(actor, CHANGE, "edit stories")
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    if "title" in changes:
        changes["title"] = text_field(
            changes["title"], field="title", max_length=200, required=True
        )
    for field in _TEXTS:
        if field in changes:
            changes[field] = text_field(changes[field], field=field)
    if "tags" in changes:
        changes["tags"] = tags_clean(changes["tags"])
    if "customer_named" in changes:
        changes["customer_named"] = _bool(changes["customer_named"], "customer_named")
    row = _lock(story)
    if row.state == Story.State.PUBLISHED:
        _require(actor, PUBLISH, "edit a published story")
    diff = changes_apply(row, changes)
    if diff:
        _audit("story_updated", row, actor, fields=sorted(diff))
    return row


@transaction.atomic
def story_nominate(*, story: Story, actor: ActorLike) -> Story:
    """Put a draft forward for publication and recognition. Locks the story."""
    _require(actor, CHANGE, "nominate stories")
    row = _lock(story)
    if row.state != Story.State.DRAFT:
        raise Conflict(
            f"the story is {row.get_state_display().lower()}; only a draft can be nominated",
            field="state",
            code="invalid_transition",
        )
    changes_apply(
        row,
        {
            "state": Story.State.NOMINATED,
            "nominated_by": actor_of(actor).user,
            "nominated_at": timezone.now(),
        },
    )
    _audit("story_nominated", row, actor)
    return row


def story_payload(story: Story) -> dict[str, Any]:
    from django.conf import settings

    return {
        "story": {
            "id": story.pk,
            "case_id": story.case_id,
            "title": story.title,
            "tags": story.tag_list,
            "staff_id": story.staff_id,
            "published_at": story.published_at.isoformat() if story.published_at else None,
            "url": f"{settings.BOUNCEBACK_PUBLIC_URL}/stories/{story.pk}/",
        }
    }


@transaction.atomic
def story_publish(*, story: Story, actor: ActorLike) -> Story:
    """Publish a draft or nominated story to the library (leads and managers).

    Locks the story; announces `story.published` when the transaction commits.
    """
    _require(actor, PUBLISH, "publish stories")
    row = _lock(story)
    if row.state == Story.State.PUBLISHED:
        raise Conflict("the story is already published", field="state", code="invalid_transition")
    if not row.what_we_did.strip():
        raise ValidationFailed("say what we did before publishing", field="what_we_did")
    changes_apply(
        row,
        {
            "state": Story.State.PUBLISHED,
            "published_by": actor_of(actor).user,
            "published_at": timezone.now(),
        },
    )
    _audit("story_published", row, actor)
    webhook_publish(event="story.published", payload=story_payload(row))
    return row


# --- Recognition ----------------------------------------------------------------------------


@transaction.atomic
def story_recognise(
    *,
    actor: ActorLike,
    kind: str,
    story: Story | None = None,
    person: User | None = None,
    note: str = "",
) -> Recognition:
    """Recognise a person now (kudos) or as the month's recognition (leads and managers).

    With a story, the person defaults to its staff member (who made it right);
    a draft story cannot be recognised until it is nominated or published. The
    person's team is kept with the row so team counts hold when people move.
    """
    _require(actor, RECOGNISE, "recognise people")
    if kind not in Recognition.Kind.values:
        raise ValidationFailed("kind must be kudos or monthly", field="kind")
    note = text_field(note, field="note", max_length=2000)
    if story is None and person is None:
        raise ValidationFailed("say whom to recognise, or for which story", field="person")
    if story is not None:
        story = _lock(story)
        if story.state == Story.State.DRAFT:
            raise Conflict("nominate the story before recognising it", field="story", code="draft")
        person = person or story.staff
        if person is None:
            raise ValidationFailed("the story names no staff member; choose one", field="person")
    assert person is not None
    if not person.is_active:
        raise ValidationFailed(f"{person} is no longer active", field="person")
    who = actor_of(actor)
    if who.user is not None and who.user.pk == person.pk:
        raise Forbidden("you cannot recognise yourself", field="person", code="self")
    recognition = Recognition.objects.create(
        story=story,
        person=person,
        team_id=person.team_id,
        kind=kind,
        given_by=who.user,
        given_by_label=who.label,
        note=note,
    )
    audit_record(
        action="story_recognised",
        actor=actor,
        target=f"user {person.pk}",
        data={
            "recognition_id": recognition.pk,
            "kind": kind,
            "story_id": story.pk if story else None,
            "person_id": person.pk,
        },
    )
    return recognition


# --- Prevention -----------------------------------------------------------------------------


@transaction.atomic
def story_propose_prevention(
    *,
    story: Story,
    actor: ActorLike,
    touchpoint: Touchpoint | None = None,
    title: str = "",
    severity: int | None = None,
    occurrence: int | None = None,
    detection: int | None = None,
) -> FailureMode:
    """Turn the story's prevention idea into a failure-mode proposal (through the catalog's
    own `failure_mode_propose`, which checks the proposer's permission and the scores).

    Touchpoint and scores default to the case's failure mode when it has one. Locks
    the story; refuses a story without an idea or whose idea was already proposed.
    """
    row = _lock(story)
    if not row.prevention_idea.strip():
        raise ValidationFailed(
            "write the prevention idea before proposing it", field="prevention_idea"
        )
    if row.proposed_failure_mode_id is not None:
        raise Conflict(
            "this story's idea was already proposed to the catalog",
            field="prevention_idea",
            code="duplicate",
        )
    mode = row.case.failure_mode
    touchpoint = touchpoint or (mode.touchpoint if mode else None)
    if touchpoint is None:
        raise ValidationFailed("choose the touchpoint where it goes wrong", field="touchpoint")
    proposed = failure_mode_propose(
        actor=actor,
        touchpoint=touchpoint,
        title=title.strip() or row.title[:160],
        description=row.prevention_idea,
        effect=row.what_went_wrong,
        severity=severity if severity is not None else (mode.severity if mode else 5),
        occurrence=occurrence if occurrence is not None else (mode.occurrence if mode else 5),
        detection=detection if detection is not None else (mode.detection if mode else 5),
    )
    changes_apply(row, {"proposed_failure_mode": proposed})
    _audit("story_prevention_proposed", row, actor, failure_mode_id=proposed.pk)
    return proposed
