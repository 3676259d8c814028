"""Outbound webhook events: the one call services make when something happens.

Contract for callers (cases, breakdowns, portal): call `webhook_publish` inside
the transaction of the write it describes, so a delivery is recorded exactly
when the write commits. It must never raise on account of subscribers.
"""

from __future__ import annotations

from typing import Any


def webhook_publish(*, event: str, payload: dict[str, Any]) -> None:
    """Record one delivery per active subscription to `event` (webhooks helper fills this in)."""
    return None
