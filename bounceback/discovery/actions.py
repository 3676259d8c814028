"""What a rule does once it fires: open a case, raise or route the case it saw,
contact the customer proactively, or alert a role.

Every write goes through the owning app's services (`case_open`,
`case_update`, `case_assign`, `case_apologise`, `notify`), so a case a rule
opens looks and behaves like any other. Each action runs in a savepoint: one
that is refused (a playbook archived since the rule was saved, a disabled
assignee, an apology below the coach's bar) comes back as a FAILED or partial
outcome with the reason, and never undoes the signal or message that fired it.

While a rule acts, the cases and messages it writes are not marked for the
rules again (`acting`), so a rule cannot feed on its own cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import transaction

from bounceback.discovery.models import Rule, RuleFiring
from bounceback.errors import ServiceError

if TYPE_CHECKING:
    from bounceback.cases.models import Case
    from bounceback.discovery.rules import Planned, Seen

_acting: ContextVar[bool] = ContextVar("discovery_rules_acting", default=False)
SEVERITY_ORDER = ["low", "normal", "high", "critical"]


def acting() -> bool:
    """Whether a rule is acting now (its own cases and messages are not fed back)."""
    return _acting.get()


@contextmanager
def _as_rule() -> Iterator[None]:
    token = _acting.set(True)
    try:
        yield
    finally:
        _acting.reset(token)


@dataclass(frozen=True)
class Done:
    outcome: str
    case_id: int | None = None
    note: str = ""


def act(item: Planned) -> Done:
    """Carry out one planned action in a savepoint; a refusal is reported, not raised."""
    try:
        with _as_rule(), transaction.atomic():
            if item.outcome == RuleFiring.Outcome.ALERTED:
                return _alert(item.rule, item.seen)
            if item.outcome == RuleFiring.Outcome.CASE_ROUTED:
                return _route(item.rule, item.seen)
            if item.outcome == RuleFiring.Outcome.CONTACTED:
                return _contact(item.rule, item.seen)
            return Done(RuleFiring.Outcome.CASE_OPENED, _open(item.rule, item.seen).pk)
    except ServiceError as exc:
        return Done(RuleFiring.Outcome.FAILED, note=exc.message)


def _id(params: dict[str, Any], key: str) -> int:
    """An id from the action's parameters; 0 (no row) when absent or not a number."""
    try:
        return int(params.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def _url(seen: Seen) -> str:
    if seen.case is not None:
        return f"/cases/{seen.case.pk}/"
    if seen.customer is not None:
        return f"/customers/{seen.customer.pk}/"
    return "/discovery/"


def _alert(rule: Rule, seen: Seen) -> Done:
    from bounceback.accounts.models import User
    from bounceback.notifications.services import notify

    role = (rule.action_params or {}).get("role")
    told = notify(
        recipients=User.objects.filter(role=role, is_active=True),
        kind="rule_alert",
        title=f"Rule {rule.name}: {seen.summary}"[:200],
        body=seen.text[:500],
        url=_url(seen),
    )
    note = "" if told else f"nobody active has the role {role}"
    return Done(RuleFiring.Outcome.ALERTED, seen.case.pk if seen.case else None, note)


_CASE_CHANNELS = {"email", "web", "chat", "phone", "social", "sms", "in_person"}


def _case_fields(rule: Rule, seen: Seen) -> dict[str, Any]:
    from bounceback.accounts.models import Team, User
    from bounceback.failuremodes.models import FailureMode
    from bounceback.playbooks.models import Playbook

    params = rule.action_params or {}
    channel = seen.values.get("channel") or ""
    mode = FailureMode.objects.filter(pk=_id(params, "failure_mode_id")).first()
    if mode is None and params.get("playbook_id"):
        # The playbook names the failure it answers: the case is filed under it.
        playbook = Playbook.objects.filter(pk=_id(params, "playbook_id")).first()
        mode = playbook.failure_mode if playbook is not None else None
    return {
        "customer": seen.customer,
        "summary": (params.get("summary") or f"{seen.summary} ({rule.name})")[:200],
        "description": seen.text,
        "channel": channel if channel in _CASE_CHANNELS else "web",
        "severity": params.get("severity", "normal"),
        "failure_mode": mode,
        "team": Team.objects.filter(pk=_id(params, "team_id")).first(),
        "assignee": User.objects.filter(pk=_id(params, "assignee_id"), is_active=True).first(),
        "site": seen.site,
        "related_transaction": seen.transaction,
    }


def _open(rule: Rule, seen: Seen, **overrides: Any) -> Case:
    from bounceback.cases.services import case_open

    return case_open(actor=None, **{**_case_fields(rule, seen), **overrides})


def _route(rule: Rule, seen: Seen) -> Done:
    """The case the rule saw (or the one a message is on): its severity raised to the
    rule's (never lowered), its failure mode set when it has none, and given to the
    rule's team or person when nobody has it yet."""
    from bounceback.accounts.models import Team, User
    from bounceback.cases.models import Case
    from bounceback.cases.services import case_assign, case_update
    from bounceback.failuremodes.models import FailureMode

    assert seen.case is not None
    case = Case.objects.get(pk=seen.case.pk)
    params = rule.action_params or {}
    did: list[str] = []
    if case.status == Case.Status.CLOSED:
        return Done(RuleFiring.Outcome.CASE_ROUTED, case.pk, "the case is closed")
    changes: dict[str, Any] = {}
    severity = params.get("severity")
    if severity in SEVERITY_ORDER and SEVERITY_ORDER.index(severity) > SEVERITY_ORDER.index(
        case.severity
    ):
        changes["severity"] = severity
    mode = FailureMode.objects.filter(pk=_id(params, "failure_mode_id")).first()
    if mode is not None and case.failure_mode_id is None:
        changes["failure_mode"] = mode
    if changes:
        case = case_update(case=case, actor=None, **changes)
        did.append(", ".join(sorted(changes)) + " set")
    assignee = User.objects.filter(pk=_id(params, "assignee_id"), is_active=True).first()
    team = Team.objects.filter(pk=_id(params, "team_id")).first()
    if case.assignee_id is None and (assignee is not None or team is not None):
        if assignee is None and team is not None:
            from bounceback.accounts.services import team_next_assignee

            assignee = team_next_assignee(team=team)
        case_assign(case=case, actor=None, assignee=assignee, team=team)
        did.append("assigned")
    return Done(RuleFiring.Outcome.CASE_ROUTED, case.pk, "; ".join(did) or "nothing to change")


def _contact(rule: Rule, seen: Seen) -> Done:
    """A proactive case for the customer and, where we can write to them, the
    playbook's first message (apology, explanation, alternatives) in their language
    on their preferred channel, sent as the case's apology: through the apology
    coach at the case's bar and the outbox. Without an address the case stays open
    with its apology clock running, for someone to call."""
    from bounceback.breakdowns.outreach import choose_channel, first_templates
    from bounceback.cases.bulk import case_subject
    from bounceback.cases.services import case_apologise
    from bounceback.outbox.channels import usable_channels
    from bounceback.playbooks.models import Playbook
    from bounceback.playbooks.templating import breakdown_values, customer_values, render

    assert seen.customer is not None
    customer = seen.customer
    params = rule.action_params or {}
    playbook = (
        Playbook.objects.select_related("current", "failure_mode")
        .filter(pk=_id(params, "playbook_id"), archived=False)
        .first()
    )
    if playbook is None or playbook.current is None:
        return Done(RuleFiring.Outcome.FAILED, note="the rule's playbook is archived or empty")
    choice = choose_channel(
        customer.preferred_channel,
        customer.primary_email,
        customer.primary_phone,
        usable=usable_channels(),
    )
    fields = _case_fields(rule, seen)
    if choice is not None:
        fields["channel"] = choice[0]
    case = _open(rule, seen, **fields, proactive=True)
    if choice is None:
        return Done(
            RuleFiring.Outcome.CASE_OPENED, case.pk, "no address we can write to: call them"
        )
    channel = choice[0]
    version = playbook.current
    templates = first_templates(version, channel, customer.locale or "en")
    apology = templates[0]
    if apology is None:
        return Done(
            RuleFiring.Outcome.CASE_OPENED, case.pk, f"the playbook has no apology for {channel}"
        )
    # The playbook's placeholders, filled from what the rule saw: the failure is
    # the case's summary, the window starts when it happened.
    happened = SimpleNamespace(
        title=params.get("summary")
        or (playbook.failure_mode.title if playbook.failure_mode else case.summary),
        reference=case.reference,
        site=seen.site,
        window_start=seen.at,
        window_end=None,
    )
    values = customer_values(
        breakdown_values(happened), customer_name=customer.name, case_reference=case.reference or ""
    )
    body = "\n\n".join(render(t.body, values).strip() for t in templates if t is not None)
    subject = render(apology.subject, values).strip() or "We're sorry"
    reason = version.coach_override_reason.strip()
    try:
        with transaction.atomic():
            case_apologise(
                case=case,
                actor=None,
                body=body,
                subject=case_subject(case.reference or "", subject),
                channel=channel,
                override_reason=f"Playbook {playbook.name} saved despite the coach: {reason}"
                if reason
                else "",
            )
    except ServiceError as exc:
        return Done(RuleFiring.Outcome.CASE_OPENED, case.pk, f"message not sent: {exc.message}")
    return Done(RuleFiring.Outcome.CONTACTED, case.pk)
