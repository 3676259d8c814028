"""Rules: conditions over a signal, its customer and transaction, and one action.

Conditions are JSON: a group {"all": [...]} or {"any": [...]} of conditions or
nested groups; a condition is {"field": F, "op": OP, "value": V}. Fields:

  signal: kind, event, source, channel, category, product, site (code), author,
          csat, nps, rating, negativity, text, attributes.NAME
  customer: segment (slug), lifetime_value
  transaction: transaction.kind, transaction.status, transaction.amount,
          transaction.product, transaction.attributes.NAME

OPs: = != < <= > >= in contains exists. Examples the product promises:
  NPS 6 or less:       {"all": [{"field": "nps", "op": "<=", "value": 6}]}
  2 stars or less:     {"all": [{"field": "kind", "op": "=", "value": "review"},
                                {"field": "rating", "op": "<=", "value": 2}]}
  late order, high-value customer:
                       {"all": [{"field": "event", "op": "=", "value": "order_late"},
                                {"field": "attributes.days_late", "op": ">", "value": 2},
                                {"field": "segment", "op": "=", "value": "high-value"}]}
  very negative message mentioning a site:
                       {"all": [{"field": "negativity", "op": ">=", "value": 0.8},
                                {"field": "site", "op": "exists"}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.changes import changes_apply
from bounceback.discovery.models import Rule, RuleFiring, RuleVersion
from bounceback.errors import ValidationFailed
from bounceback.inputs import text_field
from bounceback.signals.models import Signal

OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "contains", "exists")
SIGNAL_FIELDS = (
    "kind",
    "event",
    "source",
    "channel",
    "category",
    "product",
    "site",
    "author",
    "csat",
    "nps",
    "rating",
    "negativity",
    "text",
)
OTHER_FIELDS = (
    "segment",
    "lifetime_value",
    "transaction.kind",
    "transaction.status",
    "transaction.amount",
    "transaction.product",
)
PREFIXES = ("attributes.", "transaction.attributes.")
MAX_DEPTH = 4
PREVIEW_DAYS = 30
SAMPLE = 10


def _check_field(name: Any, where: str) -> str:
    if not isinstance(name, str) or not (
        name in SIGNAL_FIELDS or name in OTHER_FIELDS or name.startswith(PREFIXES)
    ):
        raise ValidationFailed(
            f"{where}.field: {name!r} is not a field a rule can test; fields are "
            f"{', '.join(SIGNAL_FIELDS + OTHER_FIELDS)}, attributes.NAME",
            field=f"{where}.field",
        )
    return name


def conditions_clean(value: Any, where: str = "conditions", depth: int = 0) -> dict[str, Any]:
    """The conditions as stored, or ValidationFailed naming the path at fault."""
    if depth > MAX_DEPTH:
        raise ValidationFailed(f"{where}: groups nest at most {MAX_DEPTH} deep", field=where)
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{where} must be an object", field=where)
    if "all" in value or "any" in value:
        key = "all" if "all" in value else "any"
        items = value[key]
        if set(value) != {key} or not isinstance(items, list) or not items:
            raise ValidationFailed(
                f'{where} must be {{"all": [...]}} or {{"any": [...]}} with at least one item',
                field=where,
            )
        return {
            key: [
                conditions_clean(c, f"{where}.{key}[{i}]", depth + 1) for i, c in enumerate(items)
            ]
        }
    if depth == 0:
        raise ValidationFailed(
            f'{where} must be a group: {{"all": [...]}} or {{"any": [...]}}', field=where
        )
    field = _check_field(value.get("field"), where)
    op = value.get("op")
    if op not in OPS:
        raise ValidationFailed(f"{where}.op must be one of {' '.join(OPS)}", field=f"{where}.op")
    clean: dict[str, Any] = {"field": field, "op": op}
    if op != "exists":
        if "value" not in value:
            raise ValidationFailed(f"{where}.value is required", field=f"{where}.value")
        if op == "in" and not isinstance(value["value"], list):
            raise ValidationFailed(f"{where}.value must be a list for in", field=f"{where}.value")
        if op in ("<", "<=", ">", ">=") and _number(value["value"]) is None:
            raise ValidationFailed(f"{where}.value must be a number", field=f"{where}.value")
        clean["value"] = value["value"]
    return clean


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass
class Facts:
    """What a rule can read about one signal, loaded in bulk."""

    signal: Signal
    segments: set[str]

    def get(self, name: str) -> Any:
        s = self.signal
        if name == "site":
            return s.site.code if s.site_id and s.site else None
        if name == "segment":
            return self.segments
        if name == "lifetime_value":
            return s.customer.lifetime_value if s.customer_id and s.customer else None
        if name.startswith("attributes."):
            return (s.attributes or {}).get(name[len("attributes.") :])
        if name.startswith("transaction."):
            t = s.transaction if s.transaction_id else None
            if t is None:
                return None
            rest = name[len("transaction.") :]
            if rest.startswith("attributes."):
                return (t.attributes or {}).get(rest[len("attributes.") :])
            return getattr(t, rest, None)
        value = getattr(s, name, None)
        return None if value == "" else value


def _holds(cond: Mapping[str, Any], facts: Facts) -> bool:
    if "all" in cond:
        return all(_holds(c, facts) for c in cond["all"])
    if "any" in cond:
        return any(_holds(c, facts) for c in cond["any"])
    actual = facts.get(cond["field"])
    op, wanted = cond["op"], cond.get("value")
    if op == "exists":
        return actual not in (None, "", set())
    if isinstance(actual, set):  # segments: a customer is in several
        if op == "=":
            return str(wanted) in actual
        if op == "!=":
            return str(wanted) not in actual
        if op == "in":
            return bool(actual & {str(w) for w in wanted or []})
        return False
    if actual is None:
        return False
    if op in ("<", "<=", ">", ">="):
        a, w = _number(actual), _number(wanted)
        if a is None or w is None:
            return False
        return {"<": a < w, "<=": a <= w, ">": a > w, ">=": a >= w}[op]
    if op == "contains":
        return str(wanted).lower() in str(actual).lower()
    if op == "in":
        return str(actual).lower() in {str(w).lower() for w in wanted or []}
    same = str(actual).lower() == str(wanted).lower()
    if _number(actual) is not None and _number(wanted) is not None:
        same = _number(actual) == _number(wanted)
    return same if op == "=" else not same


def _facts(signals: Iterable[Signal]) -> list[Facts]:
    from bounceback.segments.models import SegmentMembership

    rows = list(signals)
    customer_ids = {s.customer_id for s in rows if s.customer_id}
    segments: dict[int, set[str]] = {}
    for customer_id, slug in SegmentMembership.objects.filter(
        customer_id__in=customer_ids
    ).values_list("customer_id", "segment__slug"):
        segments.setdefault(customer_id, set()).add(slug)
    return [Facts(s, segments.get(s.customer_id or 0, set())) for s in rows]


def rule_matches(rule: Rule, facts: Facts) -> bool:
    return _holds(rule.conditions, facts)


def _signals(ids: Iterable[int]) -> list[Signal]:
    return list(
        Signal.objects.filter(pk__in=list(ids))
        .select_related("site", "customer", "transaction")
        .order_by("occurred_at", "id")
    )


# --- Writing rules --------------------------------------------------------------------

_ACTION_KEYS = {
    "severity",
    "failure_mode_id",
    "team_id",
    "assignee_id",
    "playbook_id",
    "role",
    "summary",
}


def _action_params(action: str, params: Any) -> dict[str, Any]:
    from bounceback.accounts.roles import Role
    from bounceback.cases.models import Severity

    if action not in Rule.Action.values:
        raise ValidationFailed(
            f"action must be one of {', '.join(Rule.Action.values)}", field="action"
        )
    params = dict(params or {})
    unknown = sorted(set(params) - _ACTION_KEYS)
    if unknown:
        raise ValidationFailed(
            f"action_params.{unknown[0]} is not a known parameter",
            field=f"action_params.{unknown[0]}",
        )
    if params.get("severity", "normal") not in Severity.values:
        raise ValidationFailed(
            f"severity must be one of {', '.join(Severity.values)}", field="action_params.severity"
        )
    if action == Rule.Action.ALERT_ROLE and params.get("role") not in Role.values:
        raise ValidationFailed(
            f"role must be one of {', '.join(Role.values)}", field="action_params.role"
        )
    return params


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "active": rule.active,
        "conditions": rule.conditions,
        "action": rule.action,
        "action_params": rule.action_params,
        "window_hours": rule.window_hours,
    }


def _version(rule: Rule, actor: ActorLike) -> None:
    who = actor_of(actor)
    RuleVersion.objects.create(
        rule=rule,
        number=rule.version,
        snapshot=_snapshot(rule),
        actor=who.user,
        actor_label=who.label,
    )


@transaction.atomic
def rule_create(
    *,
    name: str,
    conditions: Any,
    action: str,
    actor: ActorLike,
    action_params: Any = None,
    window_hours: int = 72,
    active: bool = True,
    position: int | None = None,
) -> Rule:
    """A new rule (version 1), placed last unless `position` says otherwise; audited."""
    name = text_field(name, field="name", max_length=120, required=True)
    if not isinstance(window_hours, int) or not 1 <= window_hours <= 24 * 365:
        raise ValidationFailed("window_hours must be 1 to 8760", field="window_hours")
    clean = conditions_clean(conditions)
    params = _action_params(action, action_params)
    if position is None:
        last = Rule.objects.order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 10
    rule = Rule.objects.create(
        name=name,
        conditions=clean,
        action=action,
        action_params=params,
        window_hours=window_hours,
        active=bool(active),
        position=position,
        created_by=actor_of(actor).user,
    )
    _version(rule, actor)
    audit_record(
        action=AuditEvent.Action.RULE_CREATED,
        actor=actor,
        target=f"rule:{rule.pk}",
        data=_snapshot(rule),
    )
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, actor: ActorLike, **changes: Any) -> Rule:
    """Change a rule: a new version when anything differs; switching off is a change too."""
    allowed = {
        "name",
        "conditions",
        "action",
        "action_params",
        "window_hours",
        "active",
        "position",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationFailed(f"{unknown[0]} cannot be changed", field=unknown[0])
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if "name" in changes:
        changes["name"] = text_field(changes["name"], field="name", max_length=120, required=True)
    if "conditions" in changes:
        changes["conditions"] = conditions_clean(changes["conditions"])
    action = changes.get("action", rule.action)
    if "action" in changes or "action_params" in changes:
        changes["action_params"] = _action_params(
            action, changes.get("action_params", rule.action_params)
        )
    diff = changes_apply(rule, changes)
    if not diff:
        return rule
    rule.version += 1
    rule.save(update_fields=["version"])
    _version(rule, actor)
    audit_record(
        action=AuditEvent.Action.RULE_CHANGED,
        actor=actor,
        target=f"rule:{rule.pk}",
        data={"version": rule.version, "changed": sorted(diff)},
    )
    return rule


# --- Running rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    rule: Rule
    signal: Signal
    outcome: str


def _plan(rules: list[Rule], signals: list[Signal], *, since_window: bool = True) -> list[Planned]:
    """What the rules would do with these signals, in rule order, one case per customer
    per rule per window (counting earlier firings and those planned here)."""
    facts = _facts(signals)
    planned: list[Planned] = []
    for rule in rules:
        window = timedelta(hours=rule.window_hours)
        last: dict[int, datetime] = {}
        if since_window and signals:
            earliest = min(s.occurred_at for s in signals) - window
            for customer_id, at in RuleFiring.objects.filter(
                rule=rule,
                at__gte=earliest,
                outcome__in=[
                    RuleFiring.Outcome.CASE_OPENED,
                    RuleFiring.Outcome.CONTACTED,
                    RuleFiring.Outcome.ALERTED,
                ],
            ).values_list("customer_id", "at"):
                if customer_id and (customer_id not in last or at > last[customer_id]):
                    last[customer_id] = at
        for fact in facts:
            if not rule_matches(rule, fact):
                continue
            signal = fact.signal
            who = signal.customer_id
            if who is not None and who in last and signal.occurred_at - last[who] < window:
                planned.append(Planned(rule, signal, RuleFiring.Outcome.HELD_BACK))
                continue
            if who is not None:
                last[who] = signal.occurred_at
            outcome = {
                Rule.Action.OPEN_CASE: RuleFiring.Outcome.CASE_OPENED,
                Rule.Action.PROACTIVE_CONTACT: RuleFiring.Outcome.CONTACTED,
                Rule.Action.ALERT_ROLE: RuleFiring.Outcome.ALERTED,
            }[Rule.Action(rule.action)]
            if outcome != RuleFiring.Outcome.ALERTED and who is None:
                # A case needs a customer; an anonymous mention can only alert.
                continue
            planned.append(Planned(rule, signal, outcome))
    return planned


def _act(item: Planned) -> int | None:
    """Carry out one planned action; returns the case opened, if any."""
    from bounceback.accounts.models import User
    from bounceback.cases.services import case_open
    from bounceback.notifications.services import notify
    from bounceback.signals.selectors import signal_summary

    rule, signal = item.rule, item.signal
    params = rule.action_params or {}
    summary = params.get("summary") or f"{signal_summary(signal)} ({rule.name})"
    if item.outcome == RuleFiring.Outcome.ALERTED:
        notify(
            recipients=User.objects.filter(role=params.get("role"), is_active=True),
            kind="rule_alert",
            title=f"Rule {rule.name}: {signal_summary(signal)}"[:200],
            body=signal.text[:500],
            url=f"/customers/{signal.customer_id}/" if signal.customer_id else "/discovery/",
        )
        return None
    from bounceback.accounts.models import Team
    from bounceback.failuremodes.models import FailureMode

    assert signal.customer is not None
    case = case_open(
        customer=signal.customer,
        summary=summary[:200],
        description=signal.text,
        channel=signal.channel if signal.channel in _CASE_CHANNELS else "web",
        severity=params.get("severity", "normal"),
        failure_mode=FailureMode.objects.filter(pk=_id(params, "failure_mode_id")).first(),
        team=Team.objects.filter(pk=_id(params, "team_id")).first(),
        assignee=User.objects.filter(pk=_id(params, "assignee_id"), is_active=True).first(),
        site=signal.site,
        related_transaction=signal.transaction,
        actor=None,
    )
    if item.outcome == RuleFiring.Outcome.CONTACTED:
        case.proactive = True
        case.save(update_fields=["proactive"])
    return case.pk


def _id(params: dict[str, Any], key: str) -> int:
    """An id from the action's parameters; 0 (no row) when absent or not a number."""
    try:
        return int(params.get(key) or 0)
    except (TypeError, ValueError):
        return 0


_CASE_CHANNELS = {"email", "web", "chat", "phone", "social", "sms", "in_person"}


def rules_apply_to_signals(*, signal_ids: list[int]) -> int:
    """Run every active rule, in order, on these new signals; returns the firings kept."""
    rules = list(Rule.objects.filter(active=True).order_by("position", "id"))
    if not rules or not signal_ids:
        return 0
    now = timezone.now()
    firings = []
    for item in _plan(rules, _signals(signal_ids)):
        case_id = None if item.outcome == RuleFiring.Outcome.HELD_BACK else _act(item)
        firings.append(
            RuleFiring(
                rule=item.rule,
                rule_version=item.rule.version,
                signal=item.signal,
                customer_id=item.signal.customer_id,
                case_id=case_id,
                outcome=item.outcome,
                at=max(item.signal.occurred_at, now - timedelta(days=3650)),
            )
        )
    RuleFiring.objects.bulk_create(firings)
    return len(firings)


@dataclass(frozen=True)
class Preview:
    signals_read: int
    matched: int
    counts: dict[str, int]
    sample: list[Planned]


def rule_preview(
    *,
    conditions: Any,
    action: str,
    window_hours: int = 72,
    action_params: Any = None,
    now: datetime | None = None,
) -> Preview:
    """What a rule would have done over the last 30 days' signals, with a sample.
    Nothing is written."""
    now = now or timezone.now()
    draft = Rule(
        name="preview",
        conditions=conditions_clean(conditions),
        action=action,
        action_params=_action_params(action, action_params),
        window_hours=window_hours,
    )
    signals = list(
        Signal.objects.filter(
            occurred_at__gte=now - timedelta(days=PREVIEW_DAYS), occurred_at__lt=now
        )
        .select_related("site", "customer", "transaction")
        .order_by("occurred_at", "id")
    )
    planned = _plan([draft], signals, since_window=False)
    counts: dict[str, int] = {}
    for item in planned:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    acting = [p for p in planned if p.outcome != RuleFiring.Outcome.HELD_BACK]
    return Preview(len(signals), len(planned), counts, acting[-SAMPLE:][::-1])
