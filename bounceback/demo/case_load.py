"""Loading the demo's cases: every planned step through the real case services.

Nothing here writes a case, event or timer itself. Each case is opened with
`case_open(opened_at=...)`, what the customer says goes through
`case_log_customer_message` (on a closed case, onto their timeline with
`interaction_log`, as the case takes no more messages until reopened), and
every recovery step is the service a member of staff would have used, each
run through the backdater (see backdate.py) so it lands at the moment the
plan gives it. Timers then fire as a worker would have fired
them, up to now: breaches, escalations and notifications included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from django.utils import timezone

from bounceback.accounts.models import Team, User
from bounceback.cases.models import Case, CaseLink
from bounceback.cases.services import (
    case_apologise,
    case_close,
    case_document,
    case_follow_up,
    case_link,
    case_log_customer_message,
    case_mark_fixed,
    case_open,
    case_record_follow_up,
    case_reopen,
    case_review,
    case_send_update,
    case_wait_on_customer,
)
from bounceback.customers.models import Customer
from bounceback.demo import business as biz
from bounceback.demo.backdate import Backdater
from bounceback.demo.case_plan import SPOKEN, CasePlan, CaseStep
from bounceback.failuremodes.models import FailureMode
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import interaction_log
from bounceback.sites.models import Site
from bounceback.timers.services import timers_fire_due
from bounceback.transactions.models import Transaction

REVIEW_FIELDS = (
    "what_went_wrong",
    "impact",
    "proposed_fix",
    "proposal_accepted",
    "proposal_response",
)


@dataclass
class CaseTally:
    by_status: dict[str, int] = field(default_factory=dict)
    breached: int = 0
    links: int = 0
    overridden: int = 0
    escalated: int = 0
    agent_open: int = 0  # open cases assigned to the `agent` demo login

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class _Context:
    staff: dict[str, User]
    opened: dict[str, Case]


def _apply(case: Case, step: CaseStep, ctx: _Context) -> None:
    actor = ctx.staff[step.actor] if step.actor else None
    v = step.values
    if step.action == "apologise":
        case_apologise(
            case=case,
            actor=actor,
            body=v["body"],
            channel=v["channel"],
            override_reason=v["override_reason"],
        )
    elif step.action == "review":
        case_review(case=case, actor=actor, **{k: v[k] for k in REVIEW_FIELDS if k in v})
    elif step.action == "update":
        case_send_update(case=case, actor=actor, body=v["body"], channel=v["channel"])
    elif step.action == "fix":
        case_mark_fixed(
            case=case,
            actor=actor,
            fix_summary=v["fix_summary"],
            message=v["message"],
            channel=v["channel"],
        )
    elif step.action == "follow_up":
        case_follow_up(
            case=case,
            actor=actor,
            body=v["body"],
            channel=v["channel"],
            early_reason=v["early_reason"],
        )
    elif step.action == "record":
        case_record_follow_up(
            case=case,
            actor=actor,
            satisfied=v["satisfied"],
            will_return=v["will_return"],
            comment=v["comment"],
            reopen_recovery=v.get("reopen_recovery", True),
        )
    elif step.action == "document":
        case_document(
            case=case,
            actor=actor,
            root_cause=v["root_cause"],
            what_was_done=v["what_was_done"],
            prevention_idea=v["prevention_idea"],
        )
    elif step.action == "close":
        case_close(case=case, actor=actor)
    elif step.action == "wait":
        case_wait_on_customer(case=case, actor=actor, reason=v["reason"])
    elif step.action == "customer":
        case_log_customer_message(
            case=case,
            actor=actor,
            body=v["body"],
            channel=v["channel"],
            subject=f"Re: {case.summary}",
        )
    elif step.action == "reopen":
        case_reopen(case=case, actor=actor, reason=v["reason"])
    elif step.action == "link":
        case_link(case=case, other=ctx.opened[v["to"]], actor=actor)
    else:
        raise ValueError(f"unknown demo case step {step.action!r}")


def _on_timeline(case: Case, step: CaseStep, ctx: _Context) -> None:
    """A message about a closed case: on the customer's timeline, threaded by the
    case reference, until someone reopens the case."""
    v = step.values
    interaction_log(
        customer=case.customer,
        channel=v["channel"],
        direction=Interaction.Direction.INBOUND,
        body=v["body"],
        subject=f"Re: {case.summary}",
        author=ctx.staff[step.actor] if step.actor else None,
        occurred_at=step.at,
        thread_ref=case.reference or "",
        source="demo",
    )


def load_cases(cases: list[CasePlan], customers: dict[str, Customer]) -> CaseTally:
    """Open and work every planned case, oldest first, then let the clock catch up to now."""
    ctx = _Context(
        staff={
            u.username: u for u in User.objects.filter(username__in=[s.username for s in biz.STAFF])
        },
        opened={},
    )
    teams = {t.name: t for t in Team.objects.filter(name__in=[t.name for t in biz.TEAMS])}
    sites = {s.code: s for s in Site.objects.filter(code__in=[s.code for s in biz.SITES])}
    wanted = [c.transaction for c in cases if c.transaction]
    transactions = {t.external_id: t for t in Transaction.objects.filter(external_id__in=wanted)}
    modes = {m.title: m for m in FailureMode.objects.accepted()}
    missing = sorted({c.failure_mode for c in cases} - set(modes))
    if missing:
        # The scripts and the catalog are both ours: a title that does not match is a bug.
        raise ValueError(f"demo cases name failure modes not in the catalog: {missing}")
    history = Backdater()
    for item in cases:
        history.catch_up(until=item.opened_at)
        case = case_open(
            customer=customers[item.customer_key],
            summary=item.summary,
            description=item.description,
            actor=ctx.staff[item.opened_by] if item.opened_by else None,
            channel=item.channel,
            severity=item.severity,
            site=sites.get(item.site) if item.site else None,
            failure_mode=modes[item.failure_mode],
            related_transaction=transactions.get(item.transaction) if item.transaction else None,
            assignee=ctx.staff[item.assignee] if item.assignee else None,
            team=teams[item.team] if item.team else None,
            opened_at=item.opened_at,
        )
        ctx.opened[item.key] = case
        # The complaint itself, in the customer's words, is the case's first message.
        taker = (item.opened_by or item.assignee) if item.channel in SPOKEN else None
        complaint = CaseStep(
            "customer",
            item.opened_at,
            taker,
            {"body": item.description, "channel": item.channel, "on_case": True},
        )
        for step in (complaint, *item.steps):
            history.catch_up(until=step.at)
            if step.action == "customer" and not step.values["on_case"]:
                _on_timeline(case, step, ctx)
                continue
            history.step(case, step.at, step.action, partial(_apply, case, step, ctx))
    now = timezone.now()
    history.catch_up(until=now)
    # Anything falling due in the moments the load took fires the ordinary way.
    timers_fire_due(now=now)
    history.finish(now=now)

    loaded = Case.objects.filter(pk__in=[c.pk for c in ctx.opened.values()])
    return CaseTally(
        by_status=dict(Counter(loaded.values_list("status", flat=True))),
        breached=loaded.filter(breach_count__gt=0).count(),
        links=CaseLink.objects.filter(from_case__in=loaded).count(),
        escalated=loaded.filter(events__kind="escalated").distinct().count(),
        agent_open=loaded.open().filter(assignee__username="agent").count(),
        overridden=sum(
            1 for c in cases for s in c.steps if s.action == "apologise" and s.values["cliche"]
        ),
    )
