"""The recovery policy: which targets apply to a case."""

from __future__ import annotations

from datetime import timedelta

from bounceback.cases.models import RecoveryPolicy, Severity

# Tighter targets for worse failures; the 20-minute rule is the normal case.
DEFAULTS: dict[str, dict[str, int]] = {
    Severity.LOW: {"apologise_minutes": 240, "fix_minutes": 60, "update_minutes": 60},
    Severity.NORMAL: {"apologise_minutes": 60, "fix_minutes": 20, "update_minutes": 20},
    Severity.HIGH: {"apologise_minutes": 30, "fix_minutes": 20, "update_minutes": 20},
    Severity.CRITICAL: {"apologise_minutes": 10, "fix_minutes": 20, "update_minutes": 15},
}


def policy_for(*, severity: str) -> RecoveryPolicy:
    policy, _ = RecoveryPolicy.objects.get_or_create(
        severity=severity, defaults=DEFAULTS.get(severity, {})
    )
    return policy


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def hours(value: int) -> timedelta:
    return timedelta(hours=value)
