"""The transactions every phase of the benchmark writes, built the same way everywhere.

The load generator sends these rows to the API and the raw-insert script writes
the very same rows through the database driver, so the two rates compare like
with like. Rows are deterministic for a (run id, phase, index) and realistic: a
mix of kinds, sources, sites, statuses and amounts, customers named by id, by
email or by their id in another system, and an external id that is unique per
run, so every first send creates a row.

Stdlib only: imported by run.py, loadgen.py and rawinsert.py, none of which load
Django.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

# Kinds weighted roughly like a service business's traffic.
KINDS = (
    ("order", 30),
    ("booking", 25),
    ("appointment", 15),
    ("visit", 10),
    ("delivery", 10),
    ("subscription", 7),
    ("other", 3),
)
SCHEDULED_KINDS = {"booking", "appointment", "visit", "delivery"}
STATUSES = (
    ("completed", 70),
    ("confirmed", 15),
    ("pending", 6),
    ("cancelled", 5),
    ("refunded", 3),
    ("failed", 1),
)
SOURCES = ("shop", "bookings", "pos")
PRODUCTS = (
    "Dinner for two",
    "Oil change",
    "Annual service",
    "Concert ticket, stalls",
    "Haircut and colour",
    "Same-day delivery",
    "Gym membership, monthly",
    "Room, double, 2 nights",
    "Tyre replacement",
    "Wedding menu tasting",
)
SITE_COUNT = 20
CURRENCIES = (("USD", 92), ("EUR", 5), ("GBP", 3))
# A fixed reference instant keeps rows identical between processes of one run.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def site_codes() -> list[str]:
    return [f"site-{n:02d}" for n in range(1, SITE_COUNT + 1)]


def customer_refs(count: int) -> list[dict[str, Any]]:
    """The identities the set-up gives customer number n (0-based)."""
    return [
        {
            "name": f"Bench Customer {n}",
            "email": f"bench.customer{n}@example.com",
            "source": "crm",
            "external_id": f"C-{n:06d}",
        }
        for n in range(count)
    ]


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_row(
    run_id: str, phase: str, index: int, customers: list[dict[str, Any]], variant: int = 0
) -> dict[str, Any]:
    """One API body for transaction `index` of `phase`.

    `customers` is the set-up's list (each with id, email, source, external_id).
    `variant` > 0 changes status and amount of about half the rows, to measure
    a re-send that updates some rows and leaves the rest unchanged.
    """
    rng = random.Random(f"{run_id}:{phase}:{index}")
    kind = _weighted(rng, KINDS)
    source = SOURCES[index % len(SOURCES)]
    customer = customers[rng.randrange(len(customers))]
    occurred = EPOCH - timedelta(minutes=rng.randrange(365 * 24 * 60))
    amount_cents = rng.randrange(500, 50_000)
    status = _weighted(rng, STATUSES)
    # A separate generator, so a variant changes these two fields and nothing else.
    if variant and random.Random(f"{run_id}:{phase}:{index}:v{variant}").random() < 0.5:
        amount_cents += 100 * variant
        status = "refunded" if status != "refunded" else "completed"
    row: dict[str, Any] = {
        "kind": kind,
        "source": source,
        "external_id": f"{run_id}-{phase}-{index:07d}",
        "amount": f"{amount_cents // 100}.{amount_cents % 100:02d}",
        "currency": _weighted(rng, CURRENCIES),
        "occurred_at": _iso(occurred),
        "product": PRODUCTS[rng.randrange(len(PRODUCTS))],
        "status": status,
    }
    # Name the customer the three ways integrations do.
    pick = rng.random()
    if pick < 0.6:
        row["customer_email"] = customer["email"]
    elif pick < 0.85:
        row["customer_source"] = customer["source"]
        row["customer_external_id"] = customer["external_id"]
    else:
        row["customer_id"] = customer["id"]
    if kind in SCHEDULED_KINDS:
        row["scheduled_for"] = _iso(occurred + timedelta(hours=rng.randrange(1, 24 * 30)))
    if rng.random() < 0.8:
        row["site"] = site_codes()[rng.randrange(SITE_COUNT)]
    if rng.random() < 0.5:
        row["attributes"] = {
            "channel": rng.choice(("web", "app", "phone", "walk-in")),
            "party_size": rng.randrange(1, 9),
        }
    return row


def make_rows(
    run_id: str,
    phase: str,
    count: int,
    customers: list[dict[str, Any]],
    variant: int = 0,
) -> list[dict[str, Any]]:
    return [make_row(run_id, phase, i, customers, variant) for i in range(count)]


CASE_CHANNELS = (
    ("email", 40),
    ("web", 20),
    ("phone", 15),
    ("chat", 10),
    ("in_person", 10),
    ("sms", 5),
)
CASE_SEVERITIES = (("normal", 60), ("high", 25), ("low", 10), ("critical", 5))
CASE_PROBLEMS = (
    ("Order arrived late", "delivery"),
    ("Booking lost at check-in", "booking"),
    ("Charged twice", "billing"),
    ("Rude reception at the counter", "service"),
    ("Service not finished on time", "service"),
    ("Wrong item delivered", "delivery"),
    ("Table not ready at the booked time", "booking"),
    ("Refund still missing", "billing"),
)


def make_case(
    run_id: str, phase: str, index: int, customers: list[dict[str, Any]]
) -> dict[str, Any]:
    """One POST /api/cases/ body: a complaint from one of the set-up's customers."""
    rng = random.Random(f"{run_id}:case:{phase}:{index}")
    customer = customers[rng.randrange(len(customers))]
    summary, category = CASE_PROBLEMS[rng.randrange(len(CASE_PROBLEMS))]
    body: dict[str, Any] = {
        "customer_id": customer["id"],
        "summary": f"{summary} ({run_id}-{phase}-{index})",
        "description": (
            f"{customer['name']} wrote in: {summary.lower()}. "
            "They would like to hear from us today and expect the problem put right."
        ),
        "channel": _weighted(rng, CASE_CHANNELS),
        "severity": _weighted(rng, CASE_SEVERITIES),
        "category": category,
    }
    if rng.random() < 0.7:
        body["site"] = site_codes()[rng.randrange(SITE_COUNT)]
    return body


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
