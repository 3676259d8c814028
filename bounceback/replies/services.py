"""Canned replies: written here only, each save checked by the apology coach.

Rules for callers:
- Create, edit and archive through these functions; each validates first
  (title, purpose, unknown placeholders), then scores the text with the coach
  on sample values and stores the score and findings with the reply.
- The coach advises, it does not refuse: an apology below the bar is saved and
  shown as such, and sending it on a case still meets the policy's threshold
  there (case_apologise), where the real case's values are known.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction

from bounceback.actors import ActorLike, actor_of
from bounceback.cases.models import Severity
from bounceback.cases.policy import policy_for
from bounceback.coach.scoring import CoachContext, CoachResult, coach_score
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.inputs import text_field
from bounceback.replies.models import CannedReply
from bounceback.replies.templating import SAMPLE_VALUES, reply_problems, reply_render

BODY_MAX = 5000


def canned_reply_coach(*, body: str) -> CoachResult:
    """What the coach says of a reply's text, filled with sample values.

    Held to the bar of a normal-severity case: a canned reply is written for
    many cases, and the higher bars of severe ones apply when it is sent.
    """
    policy = policy_for(severity=Severity.NORMAL)
    context = CoachContext(
        summary=SAMPLE_VALUES["case.summary"],
        customer_name=SAMPLE_VALUES["customer.name"],
        update_minutes=policy.update_minutes,
    )
    return coach_score(
        text=reply_render(body, SAMPLE_VALUES),
        threshold=policy.apology_threshold,
        context=context,
    )


def _may(actor: ActorLike, permission: str) -> None:
    if not actor_of(actor).may(permission):
        raise Forbidden("only team leads and managers keep the canned replies")


def _clean(*, title: str, purpose: str, body: str, exclude: int | None = None) -> dict[str, Any]:
    title = text_field(title, field="title", max_length=120, required=True)
    if purpose not in CannedReply.Purpose.values:
        raise ValidationFailed(
            f"purpose must be one of {', '.join(CannedReply.Purpose.values)}", field="purpose"
        )
    body = text_field(body, field="body", max_length=BODY_MAX, required=True)
    problems = reply_problems(body)
    if problems:
        raise ValidationFailed(problems[0], field="body")
    taken = CannedReply.objects.filter(title__iexact=title)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(f"a canned reply called {title!r} already exists", field="title")
    return {"title": title, "purpose": purpose, "body": body}


def _coached(body: str, purpose: str) -> dict[str, Any]:
    """The coach's score and findings for an apology; for an update or a follow-up, which
    need not apologise again, only its phrasing problems ("any inconvenience", "sorry,
    but"), as playbooks' templates are checked, and no score against the apology bar."""
    result = canned_reply_coach(body=body)
    apology = purpose == CannedReply.Purpose.APOLOGY or not result.scored
    kept = [
        f
        for f in result.findings
        if f.kind != "good" and (apology or (f.kind == "problem" and f.code != "too_short"))
    ]
    return {
        "coach_score": result.score if apology else None,
        "coach_threshold": result.threshold if apology else None,
        "coach_findings": [{k: v for k, v in asdict(f).items() if k != "sentence"} for f in kept],
    }


@transaction.atomic
def canned_reply_create(*, title: str, purpose: str, body: str, actor: ActorLike) -> CannedReply:
    """A new canned reply, scored by the coach. Refuses an empty or taken title, an
    unknown purpose and an unknown placeholder."""
    _may(actor, "replies.add_cannedreply")
    clean = _clean(title=title, purpose=purpose, body=body)
    who = actor_of(actor).user
    return CannedReply.objects.create(
        **clean, **_coached(clean["body"], clean["purpose"]), created_by=who, updated_by=who
    )


@transaction.atomic
def canned_reply_update(
    *, reply: CannedReply, title: str, purpose: str, body: str, actor: ActorLike
) -> CannedReply:
    """Edit a canned reply; the coach scores it again. Refuses what create refuses."""
    _may(actor, "replies.change_cannedreply")
    clean = _clean(title=title, purpose=purpose, body=body, exclude=reply.pk)
    reply = CannedReply.objects.select_for_update().get(pk=reply.pk)
    for name, value in {**clean, **_coached(clean["body"], clean["purpose"])}.items():
        setattr(reply, name, value)
    reply.updated_by = actor_of(actor).user
    reply.save(
        update_fields=[
            "title",
            "purpose",
            "body",
            "coach_score",
            "coach_threshold",
            "coach_findings",
            "updated_by",
            "updated_at",
        ]
    )
    return reply


@transaction.atomic
def canned_reply_archive(
    *, reply: CannedReply, actor: ActorLike, archived: bool = True
) -> CannedReply:
    """Take a reply off the compose box's list (or put it back); its text is kept."""
    _may(actor, "replies.change_cannedreply")
    reply = CannedReply.objects.select_for_update().get(pk=reply.pk)
    if reply.archived != archived:
        reply.archived = archived
        reply.updated_by = actor_of(actor).user
        reply.save(update_fields=["archived", "updated_by", "updated_at"])
    return reply
