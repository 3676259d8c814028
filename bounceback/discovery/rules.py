"""Rules: conditions over a signal, a new case or a customer's new message, and one action.

A rule looks at what its switches say: signals as they are recorded (`on_signals`,
inside the transaction that stores them), cases as they are opened
(`on_cases`) and customers' messages as they arrive (`on_messages`); the last
two are marked by hooks in the cases and interactions services and run by the
`discovery_rules` job (discovery/jobs.py), so a slow rule never slows a reply.

Conditions are JSON: a group {"all": [...]} or {"any": [...]} of conditions or
nested groups; a condition is {"field": F, "op": OP, "value": V}. Fields:

  what it is: input (signal, case or message), kind (a signal's kind; "case"
          for a case, "message" for a message), event, source, channel,
          category (a case's failure mode or category), product, site (code),
          site_mentioned (the code of a site the text names), severity (cases
          and messages on a case), author, csat, nps, rating, negativity,
          text, attributes.NAME
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
  very negative message mentioning a site (on_messages):
                       {"all": [{"field": "negativity", "op": ">=", "value": 0.8},
                                {"any": [{"field": "site_mentioned", "op": "exists"},
                                         {"field": "site", "op": "exists"}]}]}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from bounceback.cases.models import Case
    from bounceback.customers.models import Customer
    from bounceback.interactions.models import Interaction
    from bounceback.sites.models import Site
    from bounceback.transactions.models import Transaction

OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "contains", "exists")
SIGNAL_FIELDS = (
    "input",
    "kind",
    "event",
    "source",
    "channel",
    "category",
    "product",
    "site",
    "site_mentioned",
    "severity",
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
# Rules act on what is new: a case or message older than this when it is stored
# (an imported complaint history, a mailbox's backlog) is left to the scan and
# the preview. Signals carry their own time and are all acted on when recorded.
FRESH = timedelta(days=7)
Input = RuleFiring.Input


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
    field_name = _check_field(value.get("field"), where)
    op = value.get("op")
    if op not in OPS:
        raise ValidationFailed(f"{where}.op must be one of {' '.join(OPS)}", field=f"{where}.op")
    clean: dict[str, Any] = {"field": field_name, "op": op}
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


# --- What a rule sees -------------------------------------------------------------------


@dataclass
class Seen:
    """One thing a rule looks at (a signal, a new case, a customer's message), as
    the same named fields whatever it is, loaded in bulk."""

    input: str
    pk: int
    at: datetime
    customer: Customer | None
    values: dict[str, Any]
    summary: str
    text: str
    site: Site | None = None
    transaction: Transaction | None = None
    # The case it is (input case) or belongs to (a message on a case).
    case: Case | None = None
    signal: Signal | None = None
    interaction: Interaction | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    segments: set[str] = field(default_factory=set)

    @property
    def customer_id(self) -> int | None:
        return self.customer.pk if self.customer is not None else None


@dataclass
class Facts:
    """What a rule can read about one thing it sees."""

    seen: Seen

    def get(self, name: str) -> Any:
        s = self.seen
        if name == "segment":
            return s.segments
        if name == "lifetime_value":
            return s.customer.lifetime_value if s.customer is not None else None
        if name.startswith("attributes."):
            return s.attributes.get(name[len("attributes.") :])
        if name.startswith("transaction."):
            t = s.transaction
            if t is None:
                return None
            rest = name[len("transaction.") :]
            if rest.startswith("attributes."):
                return (t.attributes or {}).get(rest[len("attributes.") :])
            return getattr(t, rest, None)
        value = s.values.get(name)
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


class _SiteNames:
    """Finds the site a text names, by name or code, as a whole word."""

    def __init__(self) -> None:
        from bounceback.sites.models import Site

        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for code, name in Site.objects.order_by("id").values_list("code", "name"):
            words = [w for w in {name.strip(), code} if len(w) >= 3]
            if words:
                alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
                self.patterns.append(
                    (re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), code)
                )

    def find(self, text: str) -> str | None:
        if not text:
            return None
        for pattern, code in self.patterns:
            if pattern.search(text):
                return code
        return None


def _with_segments(seen: list[Seen]) -> list[Seen]:
    from bounceback.segments.models import SegmentMembership

    ids = {s.customer_id for s in seen if s.customer_id}
    segments: dict[int, set[str]] = {}
    for customer_id, slug in SegmentMembership.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "segment__slug"
    ):
        segments.setdefault(customer_id, set()).add(slug)
    names = _SiteNames() if seen else None
    for s in seen:
        s.segments = segments.get(s.customer_id or 0, set())
        if names is not None:
            s.values["site_mentioned"] = names.find(s.text)
    return seen


def _seen_signal(signal: Signal) -> Seen:
    from bounceback.signals.selectors import signal_summary

    site = signal.site if signal.site_id else None
    values = {
        name: getattr(signal, name, None)
        for name in ("kind", "event", "source", "channel", "category", "product", "author")
    }
    values.update(
        input=Input.SIGNAL,
        site=site.code if site is not None else None,
        csat=signal.csat,
        nps=signal.nps,
        rating=signal.rating,
        negativity=signal.negativity,
        text=signal.text,
    )
    return Seen(
        input=Input.SIGNAL,
        pk=signal.pk,
        at=signal.occurred_at,
        customer=signal.customer if signal.customer_id else None,
        values=values,
        summary=signal_summary(signal),
        text=signal.text,
        site=site,
        transaction=signal.transaction if signal.transaction_id else None,
        signal=signal,
        attributes=dict(signal.attributes or {}),
    )


def _case_values(case: Case | None) -> dict[str, Any]:
    if case is None:
        return {}
    return {
        "category": case.failure_mode.title if case.failure_mode else case.category,
        "product": case.product,
        "site": case.site.code if case.site_id and case.site else None,
        "severity": case.severity,
    }


def _seen_case(case: Case) -> Seen:
    text = "\n\n".join(t for t in (case.summary, case.description) if t)
    values = _case_values(case)
    values.update(
        input=Input.CASE,
        kind="case",
        source=case.external_source or "bounceback",
        channel=case.channel,
        negativity=case.negativity,
        text=text,
        author=case.customer.name,
    )
    return Seen(
        input=Input.CASE,
        pk=case.pk,
        at=case.created_at,
        customer=case.customer,
        values=values,
        summary=f"New case {case.reference}: {case.summary}",
        text=text,
        site=case.site if case.site_id else None,
        transaction=case.transaction if case.transaction_id else None,
        case=case,
    )


def _seen_message(message: Interaction) -> Seen:
    case = message.case if message.case_id else None
    text = "\n\n".join(t for t in (message.subject, message.body) if t)
    values = _case_values(case)
    values.update(
        input=Input.MESSAGE,
        kind="message",
        source=message.source,
        channel=message.channel,
        negativity=message.negativity,
        text=text,
        author=message.author_name,
    )
    where = f" on {case.reference}" if case is not None else ""
    return Seen(
        input=Input.MESSAGE,
        pk=message.pk,
        at=message.occurred_at,
        customer=message.customer,
        values=values,
        summary=f"Message from {message.author_name or message.customer.name}{where}",
        text=text,
        site=case.site if case is not None and case.site_id else None,
        transaction=case.transaction if case is not None and case.transaction_id else None,
        case=case,
        interaction=message,
    )


def seen_signals(ids: Iterable[int]) -> list[Seen]:
    rows = (
        Signal.objects.filter(pk__in=list(ids))
        .select_related("site", "customer", "transaction")
        .order_by("occurred_at", "id")
    )
    return _with_segments([_seen_signal(s) for s in rows])


def _cases() -> Any:
    from bounceback.cases.models import Case

    return Case.objects.select_related("customer", "site", "transaction", "failure_mode")


def _messages() -> Any:
    from bounceback.interactions.models import Interaction

    return Interaction.objects.filter(direction=Interaction.Direction.INBOUND).select_related(
        "customer", "case__site", "case__transaction", "case__failure_mode"
    )


def seen_cases(ids: Iterable[int]) -> list[Seen]:
    rows = _cases().filter(pk__in=list(ids)).order_by("created_at", "id")
    return _with_segments([_seen_case(c) for c in rows])


def seen_messages(ids: Iterable[int]) -> list[Seen]:
    rows = _messages().filter(pk__in=list(ids)).order_by("occurred_at", "id")
    return _with_segments([_seen_message(m) for m in rows])


def rule_matches(rule: Rule, facts: Facts) -> bool:
    return _holds(rule.conditions, facts)


def rule_looks_at(rule: Rule, input: str) -> bool:
    return {
        Input.SIGNAL: rule.on_signals,
        Input.CASE: rule.on_cases,
        Input.MESSAGE: rule.on_messages,
    }[Input(input)]


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


def _known(model: Any, params: dict[str, Any], key: str, label: str, **extra: Any) -> None:
    """A named row must exist when the rule is saved (it is looked up again when it acts)."""
    if params.get(key) in (None, ""):
        params.pop(key, None)
        return
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValidationFailed(f"{key} must be an id", field=f"action_params.{key}")
    params[key] = int(value)
    if not model.objects.filter(pk=params[key], **extra).exists():
        raise ValidationFailed(f"no {label} with id {value}", field=f"action_params.{key}")


def _action_params(action: str, params: Any) -> dict[str, Any]:
    from bounceback.accounts.models import Team, User
    from bounceback.accounts.roles import Role
    from bounceback.cases.models import Severity
    from bounceback.failuremodes.models import FailureMode
    from bounceback.playbooks.models import Playbook

    if action not in Rule.Action.values:
        raise ValidationFailed(
            f"action must be one of {', '.join(Rule.Action.values)}", field="action"
        )
    if not isinstance(params, Mapping | None):
        raise ValidationFailed("action_params must be an object", field="action_params")
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
    if "summary" in params:
        params["summary"] = text_field(
            params["summary"], field="action_params.summary", max_length=200
        )
    if action == Rule.Action.ALERT_ROLE and params.get("role") not in Role.values:
        raise ValidationFailed(
            f"role must be one of {', '.join(Role.values)}", field="action_params.role"
        )
    _known(FailureMode, params, "failure_mode_id", "failure mode")
    _known(Team, params, "team_id", "team")
    _known(User, params, "assignee_id", "active person", is_active=True)
    _known(Playbook, params, "playbook_id", "playbook in use", archived=False)
    if action == Rule.Action.PROACTIVE_CONTACT:
        _check_contact_playbook(params.get("playbook_id"))
    return params


def _check_contact_playbook(playbook_id: int | None) -> None:
    """A proactive contact says what the playbook's first message says (its apology,
    explanation and alternatives, checked by the apology coach when it was saved)."""
    from bounceback.playbooks.models import Playbook, TemplatePurpose

    if playbook_id is None:
        raise ValidationFailed(
            "choose the playbook whose first message (apology, explanation, alternatives) "
            "the customer is sent",
            field="action_params.playbook_id",
        )
    playbook = Playbook.objects.select_related("current").get(pk=playbook_id)
    if (
        playbook.current is None
        or not playbook.current.templates.filter(purpose=TemplatePurpose.APOLOGY).exists()
    ):
        raise ValidationFailed(
            f"playbook {playbook.name} has no apology template to send",
            field="action_params.playbook_id",
        )


def _inputs_clean(action: str, on_signals: Any, on_cases: Any, on_messages: Any) -> None:
    if not isinstance(on_signals, bool) or not isinstance(on_cases, bool):
        raise ValidationFailed("on_signals and on_cases must be true or false", field="on_cases")
    if not isinstance(on_messages, bool):
        raise ValidationFailed("on_messages must be true or false", field="on_messages")
    if not (on_signals or on_cases or on_messages):
        raise ValidationFailed(
            "a rule must look at signals, new cases or customers' messages", field="on_signals"
        )
    if action == Rule.Action.PROACTIVE_CONTACT and (on_cases or on_messages):
        raise ValidationFailed(
            "a proactive contact is for signals: a customer with a new case or message is "
            "already talking to us (open or route a case, or alert a role, instead)",
            field="on_cases" if on_cases else "on_messages",
        )


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "active": rule.active,
        "on_signals": rule.on_signals,
        "on_cases": rule.on_cases,
        "on_messages": rule.on_messages,
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


def _window(window_hours: Any) -> int:
    if (
        isinstance(window_hours, bool)
        or not isinstance(window_hours, int)
        or not 1 <= window_hours <= 24 * 365
    ):
        raise ValidationFailed("window_hours must be 1 to 8760", field="window_hours")
    return window_hours


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
    on_signals: bool = True,
    on_cases: bool = False,
    on_messages: bool = False,
) -> Rule:
    """A new rule (version 1), placed last unless `position` says otherwise; audited.

    Refuses unknown fields or operators (naming the path), ids of rows that do
    not exist, a proactive contact without a playbook to say its first message
    or on cases or messages, and a rule that looks at nothing."""
    name = text_field(name, field="name", max_length=120, required=True)
    _window(window_hours)
    clean = conditions_clean(conditions)
    params = _action_params(action, action_params)
    _inputs_clean(action, on_signals, on_cases, on_messages)
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
        on_signals=on_signals,
        on_cases=on_cases,
        on_messages=on_messages,
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


RULE_CHANGEABLE = frozenset(
    {
        "name",
        "conditions",
        "action",
        "action_params",
        "window_hours",
        "active",
        "position",
        "on_signals",
        "on_cases",
        "on_messages",
    }
)


@transaction.atomic
def rule_update(*, rule: Rule, actor: ActorLike, **changes: Any) -> Rule:
    """Change a rule: a new version when anything differs; switching off is a change too.

    Locks the rule; checks what `rule_create` checks, on the rule as it would be."""
    unknown = sorted(set(changes) - RULE_CHANGEABLE)
    if unknown:
        raise ValidationFailed(f"{unknown[0]} cannot be changed", field=unknown[0])
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if "name" in changes:
        changes["name"] = text_field(changes["name"], field="name", max_length=120, required=True)
    if "window_hours" in changes:
        _window(changes["window_hours"])
    if "conditions" in changes:
        changes["conditions"] = conditions_clean(changes["conditions"])
    action = changes.get("action", rule.action)
    if "action" in changes or "action_params" in changes:
        changes["action_params"] = _action_params(
            action, changes.get("action_params", rule.action_params)
        )
    _inputs_clean(
        action,
        changes.get("on_signals", rule.on_signals),
        changes.get("on_cases", rule.on_cases),
        changes.get("on_messages", rule.on_messages),
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

ACTING = (
    RuleFiring.Outcome.CASE_OPENED,
    RuleFiring.Outcome.CASE_ROUTED,
    RuleFiring.Outcome.CONTACTED,
    RuleFiring.Outcome.ALERTED,
)


@dataclass(frozen=True)
class Planned:
    rule: Rule
    seen: Seen
    outcome: str

    @property
    def signal(self) -> Signal | None:
        return self.seen.signal


def _outcome(rule: Rule, seen: Seen) -> str | None:
    """What acting on `seen` would be; None when this rule cannot act on it."""
    action = Rule.Action(rule.action)
    if action == Rule.Action.ALERT_ROLE:
        return RuleFiring.Outcome.ALERTED
    if seen.customer is None:
        return None  # a case needs a customer; an anonymous mention can only alert
    if action == Rule.Action.PROACTIVE_CONTACT:
        return RuleFiring.Outcome.CONTACTED if seen.input == Input.SIGNAL else None
    # "Open a case" for what is already a case, or a message on one, is done to that case.
    return (
        RuleFiring.Outcome.CASE_ROUTED if seen.case is not None else RuleFiring.Outcome.CASE_OPENED
    )


Who = int | tuple[str, str, str]


def _who(seen: Seen) -> Who:
    """Whom the window counts by: the customer, or for an anonymous signal (a review,
    a mention) its source and site, so a noisy source raises one alert a window."""
    if seen.customer_id is not None:
        return seen.customer_id
    return ("anonymous", str(seen.values.get("source") or ""), str(seen.values.get("site") or ""))


def _last_firings(rule: Rule, since: datetime) -> dict[Who, datetime]:
    last: dict[Who, datetime] = {}
    rows = RuleFiring.objects.filter(rule=rule, at__gte=since, outcome__in=ACTING).values_list(
        "customer_id", "signal__source", "signal__site__code", "at"
    )
    for customer_id, source, site, at in rows:
        key: Who = customer_id or ("anonymous", source or "", site or "")
        if key not in last or at > last[key]:
            last[key] = at
    return last


def _plan(rules: list[Rule], seen: Sequence[Seen], *, since_window: bool = True) -> list[Planned]:
    """What the rules would do with these, in rule order, at most one action per
    customer (or anonymous source and site) per rule per window, counting earlier
    firings and those planned here."""
    planned: list[Planned] = []
    for rule in rules:
        mine = [s for s in seen if rule_looks_at(rule, s.input)]
        if not mine:
            continue
        window = timedelta(hours=rule.window_hours)
        last: dict[Who, datetime] = {}
        if since_window:
            last = _last_firings(rule, min(s.at for s in mine) - window)
        for item in mine:
            if not rule_matches(rule, Facts(item)):
                continue
            outcome = _outcome(rule, item)
            if outcome is None:
                continue
            who = _who(item)
            if who in last and abs(item.at - last[who]) < window:
                planned.append(Planned(rule, item, RuleFiring.Outcome.HELD_BACK))
                continue
            last[who] = max(item.at, last.get(who, item.at))
            planned.append(Planned(rule, item, outcome))
    return planned


def rules_apply(*, seen: Sequence[Seen], now: datetime | None = None) -> int:
    """Run every active rule, in order, on these new signals, cases or messages, inside
    the caller's transaction; returns the firings kept. A case or message older than
    FRESH is history and is left alone. An action that cannot be done (a playbook
    archived since, a disabled assignee) is kept as a FAILED firing with the reason,
    and never undoes the write that brought the signal or message in."""
    from bounceback.discovery.actions import act

    now = now or timezone.now()
    fresh = [s for s in seen if s.input == Input.SIGNAL or s.at >= now - FRESH]
    rules = list(Rule.objects.filter(active=True).order_by("position", "id"))
    if not rules or not fresh:
        return 0
    firings = []
    for item in _plan(rules, fresh):
        done = act(item) if item.outcome != RuleFiring.Outcome.HELD_BACK else None
        firings.append(
            RuleFiring(
                rule=item.rule,
                rule_version=item.rule.version,
                input=item.seen.input,
                signal=item.seen.signal,
                interaction=item.seen.interaction,
                customer_id=item.seen.customer_id,
                case_id=done.case_id
                if done is not None
                else (item.seen.case.pk if item.seen.case is not None else None),
                outcome=done.outcome if done is not None else item.outcome,
                note=(done.note if done is not None else "")[:300],
                at=item.seen.at,
            )
        )
    RuleFiring.objects.bulk_create(firings)
    return len(firings)


def rules_apply_to_signals(*, signal_ids: list[int]) -> int:
    """Run the active rules that look at signals on these new signals."""
    if not signal_ids or not Rule.objects.filter(active=True, on_signals=True).exists():
        return 0
    return rules_apply(seen=seen_signals(signal_ids))


@dataclass(frozen=True)
class Preview:
    read: dict[str, int]
    matched: int
    counts: dict[str, int]
    sample: list[Planned]

    @property
    def signals_read(self) -> int:
        return self.read.get(Input.SIGNAL, 0)

    @property
    def total_read(self) -> int:
        return sum(self.read.values())

    @property
    def labelled_counts(self) -> list[tuple[str, int]]:
        labels = dict(RuleFiring.Outcome.choices)
        return [(labels.get(outcome, outcome), n) for outcome, n in self.counts.items()]

    @property
    def read_phrase(self) -> str:
        """ "12 signals, 3 new cases and 40 messages"."""
        words = {Input.SIGNAL: "signal", Input.CASE: "new case", Input.MESSAGE: "message"}
        parts = [f"{n} {words[Input(k)]}{'' if n == 1 else 's'}" for k, n in self.read.items()]
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else "nothing"


def rule_preview(
    *,
    conditions: Any,
    action: str,
    window_hours: int = 72,
    action_params: Any = None,
    on_signals: bool = True,
    on_cases: bool = False,
    on_messages: bool = False,
    now: datetime | None = None,
) -> Preview:
    """What a rule would have done over the last 30 days' signals, new cases and
    customers' messages (those it looks at), with a sample. Nothing is written."""
    now = now or timezone.now()
    _window(window_hours)
    _inputs_clean(action, on_signals, on_cases, on_messages)
    draft = Rule(
        name="preview",
        conditions=conditions_clean(conditions),
        action=action,
        action_params=_action_params(action, action_params),
        window_hours=window_hours,
        on_signals=on_signals,
        on_cases=on_cases,
        on_messages=on_messages,
    )
    since = now - timedelta(days=PREVIEW_DAYS)
    seen: list[Seen] = []
    read: dict[str, int] = {}
    if on_signals:
        signals = (
            Signal.objects.filter(occurred_at__gte=since, occurred_at__lt=now)
            .select_related("site", "customer", "transaction")
            .order_by("occurred_at", "id")
        )
        seen += [_seen_signal(s) for s in signals]
        read[Input.SIGNAL] = len(seen)
    if on_cases:
        cases = [
            _seen_case(c)
            for c in _cases()
            .filter(created_at__gte=since, created_at__lt=now, proactive=False)
            # Cases rules opened are not fed back to the rules (see actions.acting).
            .exclude(
                pk__in=RuleFiring.objects.filter(
                    outcome__in=[RuleFiring.Outcome.CASE_OPENED, RuleFiring.Outcome.CONTACTED],
                    case__isnull=False,
                ).values("case_id")
            )
            .order_by("created_at", "id")
        ]
        read[Input.CASE] = len(cases)
        seen += cases
    if on_messages:
        messages = [
            _seen_message(m)
            for m in _messages()
            .filter(occurred_at__gte=since, occurred_at__lt=now)
            .order_by("occurred_at", "id")
        ]
        read[Input.MESSAGE] = len(messages)
        seen += messages
    seen.sort(key=lambda s: s.at)
    planned = _plan([draft], _with_segments(seen), since_window=False)
    counts: dict[str, int] = {}
    for item in planned:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    acting = [p for p in planned if p.outcome != RuleFiring.Outcome.HELD_BACK]
    return Preview(read, len(planned), counts, acting[-SAMPLE:][::-1])
