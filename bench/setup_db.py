"""Prepare a migrated Bounceback database for the benchmark (not timed).

usage: setup_db.py CUSTOMERS OUT_JSON

Runs with the same environment as the server (DATABASE_URL or
BOUNCEBACK_DATA_DIR), loads Django, and through the ordinary services creates
the sites, CUSTOMERS customers (each with an email and an id in a "crm"
system) and an API token with the transactions and customers write scopes.
Writes what the load generator and the raw-insert script need to OUT_JSON:
the token's plaintext, each customer's id and identities, and the site ids.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def prepare(count: int) -> dict:
    """Sites, customers and a token in the configured database; Django must be set up."""
    from django.conf import settings
    from django.db import connection
    from rows import customer_refs, site_codes

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
    return {
        "token": token,
        "customers": customers,
        "sites": sites,
        "currency": settings.BOUNCEBACK_CURRENCY,
        "vendor": connection.vendor,
        "setup_s": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    count, out_path = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceback.config.settings")
    import django

    django.setup()
    out = prepare(count)
    with open(out_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
