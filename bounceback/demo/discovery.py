"""The demo's discovery: nine weeks of signals, four rules, and one suspected
breakdown waiting to be declared.

Survey answers (NPS with comments), reviews (stars and text) and operational
events about the depot's deliveries arrive steadily over nine weeks; in the
last hours the flood on the Lower Valley road makes late deliveries at the
Dockside Depot pile up, and the scan raises a suspected breakdown for the
depot that a lead can declare from the discovery page. The rules are written
before the last two days' signals, so the page shows what they did.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from bounceback.accounts.models import User
from bounceback.customers.models import Customer
from bounceback.demo import business as biz
from bounceback.discovery.rules import rule_create
from bounceback.discovery.services import discovery_scan
from bounceback.signals.services import signals_record_many

DETRACTOR_COMMENTS = [
    "Waited forty minutes at the box office and nobody apologised.",
    "The sound cut out twice in the second half.",
    "Nobody called me back about my refund.",
    "Parking was a mess and the staff were rude about it.",
    "The repair took a week longer than promised.",
]
PROMOTER_COMMENTS = [
    "Lovely evening, the staff were brilliant.",
    "Quick and friendly, no problems at all.",
    "Great show, easy entry, will be back.",
    "Car came back spotless, thank you.",
    "",
]
REVIEWS = [
    (5, "Fantastic venue, great sound."),
    (4, "Good night out, bar queue was long."),
    (2, "Cold hall and the show started late."),
    (1, "Booked a table that did not exist. Never again."),
    (5, "The mechanic explained everything, fair price."),
    (3, "Fine, nothing special."),
]
# The catalog's failure mode (and playbook) for the flood: the suspected breakdown
# names it, so declaring it offers that playbook.
WEATHER = "Shipments delayed by weather"
SITES = [biz.VENUE.code, biz.SMALL_VENUE.code, biz.WORKSHOP.code]


def _iso(at: datetime) -> str:
    return at.isoformat()


def _background(
    rng: random.Random, customers: list[Customer], start: datetime, end: datetime, first: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    n = first
    day = start
    while day < end:
        for _ in range(rng.randint(2, 5)):
            n += 1
            score = rng.choice([0, 3, 5, 6, 7, 8, 9, 9, 10, 10])
            comments = DETRACTOR_COMMENTS if score <= 6 else PROMOTER_COMMENTS
            items.append(
                {
                    "source": "surveys",
                    "external_id": f"NPS-{n}",
                    "kind": "survey",
                    "event": "nps",
                    "nps": score,
                    "text": rng.choice(comments),
                    "site": rng.choice(SITES),
                    "customer_id": rng.choice(customers).pk,
                    "channel": "email",
                    "occurred_at": _iso(day + timedelta(hours=rng.randint(9, 21))),
                }
            )
        for _ in range(rng.randint(0, 2)):
            n += 1
            stars, text = rng.choice(REVIEWS)
            items.append(
                {
                    "source": "reviews",
                    "external_id": f"REV-{n}",
                    "kind": "review",
                    "rating": stars,
                    "text": text,
                    "site": rng.choice(SITES),
                    "channel": "google",
                    "author": f"reviewer{n}",
                    "occurred_at": _iso(day + timedelta(hours=rng.randint(8, 23))),
                }
            )
        if rng.random() < 0.5:
            n += 1
            items.append(
                {
                    "source": "depot-tracking",
                    "external_id": f"DL-{n}",
                    "kind": "operational",
                    "event": "delivery_late",
                    "site": biz.DEPOT.code,
                    "customer_id": rng.choice(customers).pk,
                    "attributes": {"days_late": 1},
                    "channel": "tracking",
                    "occurred_at": _iso(day + timedelta(hours=rng.randint(10, 17))),
                }
            )
        day += timedelta(days=1)
    return items


def load_discovery(*, now: datetime, seed: int = 15) -> int:
    """Signals, rules and the flood's suspected breakdown; returns the signals stored."""
    rng = random.Random(seed)
    customers = list(Customer.objects.order_by("id"))
    manager = User.objects.filter(username="manager").first()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    history = _background(rng, customers, today - timedelta(days=63), today - timedelta(days=2), 0)
    stored = 0
    for start in range(0, len(history), 5000):
        stored += len(signals_records(history[start : start + 5000]))
    rule_create(
        name="Detractors: NPS 6 or less",
        action="open_case",
        actor=manager,
        conditions={"all": [{"field": "nps", "op": "<=", "value": 6}]},
        action_params={"severity": "normal"},
        window_hours=168,
    )
    rule_create(
        name="Reviews of 2 stars or less",
        action="open_case",
        actor=manager,
        conditions={
            "all": [
                {"field": "kind", "op": "=", "value": "review"},
                {"field": "rating", "op": "<=", "value": 2},
            ]
        },
        action_params={"severity": "normal"},
    )
    rule_create(
        name="Late delivery for a high-value customer",
        action="open_case",
        actor=manager,
        conditions={
            "all": [
                {"field": "event", "op": "=", "value": "delivery_late"},
                {"field": "attributes.days_late", "op": ">", "value": 2},
                {"field": "segment", "op": "=", "value": "high-value"},
            ]
        },
        action_params={"severity": "high", **_weather_mode()},
    )
    rule_create(
        name="Very negative message about a site",
        action="alert_role",
        actor=manager,
        conditions={
            "all": [
                {"field": "negativity", "op": ">=", "value": 0.8},
                {
                    "any": [
                        {"field": "site", "op": "exists"},
                        {"field": "site_mentioned", "op": "exists"},
                    ]
                },
            ]
        },
        action_params={"role": "manager"},
        on_messages=True,
    )
    recent = _background(rng, customers, today - timedelta(days=2), today, len(history) + 10)
    stored += len(signals_records(recent))
    # The flood: late deliveries for many customers at the depot in the last hours.
    hit = rng.sample(customers, min(18, len(customers)))
    flood_start = now - timedelta(hours=3)
    flood = [
        {
            "source": "depot-tracking",
            "external_id": f"FLOOD-{i}",
            "kind": "operational",
            "event": "delivery_late",
            "site": biz.DEPOT.code,
            "customer_id": c.pk,
            "category": WEATHER,
            "attributes": {"days_late": 3, "route": biz.FLOOD_ROUTE},
            "channel": "tracking",
            "text": "Delivery held at the depot: Lower Valley road closed by flooding.",
            "occurred_at": _iso(flood_start + timedelta(minutes=6 * i)),
        }
        for i, c in enumerate(hit)
    ]
    stored += len(signals_records(flood))
    discovery_scan(since=now - timedelta(days=2), until=now)
    return stored


def _weather_mode() -> dict[str, int]:
    from bounceback.failuremodes.models import FailureMode

    mode = FailureMode.objects.filter(title=WEATHER).first()
    return {"failure_mode_id": mode.pk} if mode else {}


def signals_records(items: list[dict[str, Any]]) -> list[int]:
    result = signals_record_many(items=items)
    if result.errors:
        raise RuntimeError(f"demo signals refused: {result.errors[:3]}")
    return result.created_ids
