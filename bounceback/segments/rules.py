"""Segment rules: validation, and their translation into one customer query per segment.

A rule is {"field", "op", "value"} plus, for counts over time, an optional
"months" window. Rules are ANDed. Every rule becomes a filter on the customer
table (with correlated subqueries for counts), so a segment's members are one
SELECT however many customers there are; never evaluate rules in Python per
customer.

Fields and what they mean:
- lifetime_value: the customer's lifetime value in the business currency.
- transactions: kept transactions (not cancelled, refunded or failed), over the
  last `months` months when given, else ever.
- cases_recent: cases opened in the last `months` months (12 when not given).
- satisfaction: with >= / <=, the percentage (0-100) of follow-up answers that
  were unhappy (customers never asked do not match); with =, the last answer:
  "unhappy" or "happy".
- tenure_days: days since the customer's first transaction or their record's
  creation, whichever is earlier.
- tag: with has, the customer carries that tag (exact, case-sensitive).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Least
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from bounceback.cases.models import Case, CaseEvent
from bounceback.customers.models import Customer
from bounceback.errors import ValidationFailed
from bounceback.transactions.models import Transaction

MAX_RULES = 20
MAX_MONTHS = 120
COMPARISONS = (">=", "<=", "=")

FIELDS: dict[str, tuple[str, ...]] = {
    "lifetime_value": COMPARISONS,
    "transactions": COMPARISONS,
    "cases_recent": COMPARISONS,
    "satisfaction": COMPARISONS,
    "tenure_days": COMPARISONS,
    "tag": ("has",),
}
FIELD_LABELS = {
    "lifetime_value": "Lifetime value",
    "transactions": "Transactions",
    "cases_recent": "Cases in the last N months",
    "satisfaction": "Satisfaction (unhappy %, or last answer)",
    "tenure_days": "Tenure (days)",
    "tag": "Tag",
}
WINDOWED = {"transactions", "cases_recent"}
DEFAULT_CASE_MONTHS = 12
LAST_ANSWERS = ("unhappy", "happy")


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationFailed(f"{where}.value must be a number", field=f"{where}.value")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{where}.value must be a number", field=f"{where}.value") from None
    if not number.is_finite():
        raise ValidationFailed(f"{where}.value must be a number", field=f"{where}.value")
    if number < 0:
        raise ValidationFailed(f"{where}.value must not be negative", field=f"{where}.value")
    return number


def _whole(value: Any, where: str) -> int:
    number = _number(value, where)
    if number != number.to_integral_value():
        raise ValidationFailed(f"{where}.value must be a whole number", field=f"{where}.value")
    if number > 10**9:
        raise ValidationFailed(f"{where}.value is too large", field=f"{where}.value")
    return int(number)


def _rule_clean(raw: Any, index: int) -> dict[str, Any]:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where} must be an object with field, op and value", field=where)
    unknown = set(raw) - {"field", "op", "value", "months"}
    if unknown:
        name = min(unknown)
        raise ValidationFailed(f"{where} has an unknown key {name!r}", field=f"{where}.{name}")
    name = str(raw.get("field") or "").strip()
    if name not in FIELDS:
        raise ValidationFailed(
            f"{where}.field must be one of {', '.join(FIELDS)}", field=f"{where}.field"
        )
    op = str(raw.get("op") or "").strip()
    if op not in FIELDS[name]:
        raise ValidationFailed(
            f"{where}.op must be one of {', '.join(FIELDS[name])} for {name}",
            field=f"{where}.op",
        )
    value = raw.get("value")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"{where}.value is required", field=f"{where}.value")
    rule: dict[str, Any] = {"field": name, "op": op}
    if name == "tag":
        if not isinstance(value, str) or len(value.strip()) > 100:
            raise ValidationFailed(
                f"{where}.value must be a tag of up to 100 characters", field=f"{where}.value"
            )
        rule["value"] = value.strip()
    elif name == "lifetime_value":
        amount = _number(value, where)
        if amount > Decimal("999999999999"):
            raise ValidationFailed(f"{where}.value is too large", field=f"{where}.value")
        rule["value"] = str(amount.quantize(Decimal("0.01")))
    elif name == "satisfaction" and op == "=":
        answer = str(value).strip().lower()
        if answer not in LAST_ANSWERS:
            raise ValidationFailed(
                f"{where}.value must be unhappy or happy (the last follow-up answer)",
                field=f"{where}.value",
            )
        rule["value"] = answer
    elif name == "satisfaction":
        percent = _whole(value, where)
        if percent > 100:
            raise ValidationFailed(
                f"{where}.value must be a percentage from 0 to 100", field=f"{where}.value"
            )
        rule["value"] = percent
    else:
        rule["value"] = _whole(value, where)
    months = raw.get("months")
    if months not in (None, ""):
        if name not in WINDOWED:
            raise ValidationFailed(
                f"{where}.months only applies to {' and '.join(sorted(WINDOWED))}",
                field=f"{where}.months",
            )
        try:
            count = int(str(months).strip())
        except ValueError:
            count = 0
        if not 1 <= count <= MAX_MONTHS:
            raise ValidationFailed(
                f"{where}.months must be a whole number from 1 to {MAX_MONTHS}",
                field=f"{where}.months",
            )
        rule["months"] = count
    return rule


def rules_clean(raw: Any) -> list[dict[str, Any]]:
    """Validate rules and return them normalised; raises ValidationFailed naming the rule."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "[]")
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"rules are not valid JSON: {exc.msg}", field="rules") from None
    if not isinstance(raw, list):
        raise ValidationFailed("rules must be a list of conditions", field="rules")
    if not raw:
        raise ValidationFailed("add at least one rule", field="rules")
    if len(raw) > MAX_RULES:
        raise ValidationFailed(f"a segment has at most {MAX_RULES} rules", field="rules")
    return [_rule_clean(rule, index) for index, rule in enumerate(raw)]


def rule_describe(rule: dict[str, Any]) -> str:
    """One rule in words, for lists and the case page."""
    name, op, value = rule["field"], rule["op"], rule["value"]
    if name == "tag":
        return f"tagged {value}"
    if name == "satisfaction" and op == "=":
        return f"last follow-up answer {value}"
    if name == "satisfaction":
        return f"unhappy answers {op} {value}%"
    window = ""
    if name in WINDOWED:
        months = rule.get("months") or (DEFAULT_CASE_MONTHS if name == "cases_recent" else None)
        window = f" in {months} months" if months else ""
    label = {"cases_recent": "cases", "tenure_days": "tenure (days)"}.get(name, name)
    return f"{label.replace('_', ' ')}{window} {op} {value}"


def _months_ago(now: datetime, months: int) -> datetime:
    # A month is 30 days here: rules speak of recency, not calendar months.
    return now - timedelta(days=30 * months)


def _count(rows: QuerySet[Any], key: str) -> Coalesce:
    counted = rows.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _compare(name: str, op: str, value: Any) -> Q:
    lookup = {">=": "gte", "<=": "lte", "=": "exact"}[op]
    return Q(**{f"{name}__{lookup}": value})


def _has_tag(tag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # SQLite has no JSON containment: match the tag's JSON text, quotes
    # included, so "vip" does not match "vip-lapsed". Tags are stored with
    # Django's encoder, which escapes non-ASCII the same way json.dumps does.
    # instr, not LIKE: SQLite's LIKE ignores case and tags are case-sensitive.
    found = Func(
        Cast("tags", TextField()),
        Value(json.dumps(tag)),
        function="instr",
        output_field=IntegerField(),
    )
    return Q(GreaterThan(found, 0))


def customers_matching(
    rules: list[dict[str, Any]], *, now: datetime | None = None
) -> QuerySet[Customer]:
    """Customers matching every rule (rules must come from rules_clean)."""
    now = now or timezone.now()
    # A drill's synthetic customers belong to no segment.
    rows: QuerySet[Customer] = Customer.objects.real()
    for index, rule in enumerate(rules):
        name, op, value = rule["field"], rule["op"], rule["value"]
        alias = f"rule_{index}"
        if name == "tag":
            rows = rows.filter(_has_tag(value))
        elif name == "lifetime_value":
            rows = rows.filter(_compare("lifetime_value", op, Decimal(value)))
        elif name == "transactions":
            kept = Transaction.objects.filter(customer_id=OuterRef("pk")).counts_towards_value()
            if rule.get("months"):
                kept = kept.filter(occurred_at__gte=_months_ago(now, rule["months"]))
            rows = rows.alias(**{alias: _count(kept, "customer_id")}).filter(
                _compare(alias, op, value)
            )
        elif name == "cases_recent":
            since = _months_ago(now, rule.get("months") or DEFAULT_CASE_MONTHS)
            recent = Case.objects.filter(customer_id=OuterRef("pk"), created_at__gte=since)
            rows = rows.alias(**{alias: _count(recent, "customer_id")}).filter(
                _compare(alias, op, value)
            )
        elif name == "satisfaction":
            rows = _satisfaction(rows, alias, op, value)
        elif name == "tenure_days":
            rows = _tenure(rows, alias, op, int(value), now)
    return rows


def _answers() -> QuerySet[CaseEvent]:
    # Every follow-up answer is an event; the case's own fields are cleared when
    # an unhappy answer reopens the recovery, so they undercount unhappiness.
    return CaseEvent.objects.filter(kind="follow_up_recorded", case__customer_id=OuterRef("pk"))


def _satisfaction(rows: QuerySet[Customer], alias: str, op: str, value: Any) -> QuerySet[Customer]:
    if op == "=":
        last = _answers().order_by("-at", "-id").values("pk")[:1]
        unhappy = CaseEvent.objects.filter(kind="follow_up_recorded", data__satisfied=False)
        happy = CaseEvent.objects.filter(kind="follow_up_recorded", data__satisfied=True)
        wanted = unhappy if value == "unhappy" else happy
        return rows.alias(**{alias: Subquery(last)}).filter(**{f"{alias}__in": wanted.values("pk")})
    answered, unhappy_count = f"{alias}_answered", f"{alias}_unhappy"
    rows = rows.alias(
        **{
            answered: _count(_answers(), "case__customer_id"),
            unhappy_count: _count(_answers().filter(data__satisfied=False), "case__customer_id"),
        }
    )
    # unhappy / answered OP value%, kept in integers: unhappy*100 OP value*answered.
    scaled = f"{alias}_scaled"
    rows = rows.alias(**{scaled: F(unhappy_count) * 100}).filter(**{f"{answered}__gt": 0})
    return rows.filter(_compare(scaled, op, F(answered) * int(value)))


def _tenure(
    rows: QuerySet[Customer], alias: str, op: str, days: int, now: datetime
) -> QuerySet[Customer]:
    first = (
        Transaction.objects.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    rows = rows.alias(**{alias: Least(Coalesce(Subquery(first), F("created_at")), F("created_at"))})
    cutoff = now - timedelta(days=days)
    if op == ">=":
        return rows.filter(**{f"{alias}__lte": cutoff})
    if op == "<=":
        return rows.filter(**{f"{alias}__gte": cutoff})
    return rows.filter(**{f"{alias}__lte": cutoff, f"{alias}__gt": cutoff - timedelta(days=1)})
