"""Prepare a migrated Bounceback database for the benchmark (not timed).

usage: setup_db.py CUSTOMERS OUT_JSON [--cases-token]

Runs with the same environment as the server (DATABASE_URL or
BOUNCEBACK_DATA_DIR), loads Django, and through the ordinary services creates
the sites, CUSTOMERS customers (each with an email and an id in a "crm"
system) and an API token with the transactions and customers write scopes
(with --cases-token, a second one with cases:write and customers:read).
Writes what the load generator and the raw-insert script need to OUT_JSON:
the token's plaintext, each customer's id and identities, and the site ids.
"""

from __future__ import annotations

import json
import sys
import time

import harness
from rows import customer_refs, site_codes


def prepare(count: int, *, cases_token: bool = False) -> dict:
    """Sites, customers and a token in the configured database; Django must be set up."""
    from django.conf import settings
    from django.db import connection

    from bounceback.apitokens.services import token_create
    from bounceback.customers.services import ExternalIdentity, customer_create
    from bounceback.sites.services import site_create

    started = time.perf_counter()
    sites = {}
    for code in site_codes():
        sites[code] = site_create(code=code, name=code.replace("-", " ").title()).pk
    customers = []
    for ref in customer_refs(count):
        customer = customer_create(
            name=ref["name"],
            emails=[ref["email"]],
            external_ids=[ExternalIdentity(source=ref["source"], external_id=ref["external_id"])],
        )
        customers.append(dict(ref, id=customer.pk))
    _, token = token_create(
        name="bench", scopes=["transactions:write", "customers:write"], actor=None
    )
    out = {
        "token": token,
        "customers": customers,
        "sites": sites,
        "currency": settings.BOUNCEBACK_CURRENCY,
        "vendor": connection.vendor,
        "setup_s": round(time.perf_counter() - started, 2),
    }
    if cases_token:
        _, out["cases_token"] = token_create(
            name="bench cases", scopes=["cases:write", "customers:read"], actor=None
        )
    return out


def main() -> None:
    count, out_path = int(sys.argv[1]), sys.argv[2]
    harness.setup_django()
    out = prepare(count, cases_token="--cases-token" in sys.argv[3:])
    with open(out_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
