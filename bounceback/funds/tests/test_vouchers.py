"""Vouchers redeemed once, and grants reversed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.cases.models import CaseEvent
from bounceback.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bounceback.funds.models import Grant, LedgerEntry, Voucher
from bounceback.funds.selectors import allowance_for
from bounceback.funds.services import (
    VOUCHER_ALPHABET,
    grant_create,
    grant_reverse,
    voucher_redeem,
)
from bounceback.testing.funds_factories import open_case, staff

pytestmark = pytest.mark.django_db


def _voucher(agent=None, **kwargs):  # type: ignore[no-untyped-def]
    grant = grant_create(
        case=open_case(),
        actor=agent or staff(Role.AGENT),
        kind="voucher",
        value="25.00",
        reason="Cold food",
        **kwargs,
    )
    return grant, grant.voucher


def test_given_a_voucher_grant_then_the_code_is_grouped_unambiguous_and_expires() -> None:
    _, voucher = _voucher(voucher_days=30)

    groups = voucher.code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4]
    assert set("".join(groups)) <= set(VOUCHER_ALPHABET)
    assert voucher.value == Decimal("25.00")
    assert timedelta(days=29) < voucher.expires_at - timezone.now() <= timedelta(days=30)


def test_given_a_voucher_when_redeemed_twice_then_the_second_is_a_conflict() -> None:
    _, voucher = _voucher()
    typed = voucher.code.lower().replace("-", " ")

    redeemed = voucher_redeem(code=typed, by="till 4", reference="R-1001")

    assert (redeemed.redeemed_by, redeemed.redeemed_reference) == ("till 4", "R-1001")
    with pytest.raises(Conflict) as caught:
        voucher_redeem(code=voucher.code, by="till 5")
    assert caught.value.code == "voucher_redeemed"
    assert Voucher.objects.get().redeemed_by == "till 4"


def test_given_an_unknown_or_expired_voucher_when_redeemed_then_clear_errors() -> None:
    _, voucher = _voucher()
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() - timedelta(days=1))

    with pytest.raises(NotFound):
        voucher_redeem(code="AAAA-BBBB-CCCC", by="till")
    with pytest.raises(Conflict) as caught:
        voucher_redeem(code=voucher.code, by="till")
    assert caught.value.code == "voucher_expired"
    with pytest.raises(ValidationFailed):
        voucher_redeem(code=voucher.code, by="  ")


def test_given_a_grant_when_a_manager_reverses_it_then_the_spend_comes_back_and_is_audited() -> (
    None
):
    agent = staff(Role.AGENT)
    manager = staff(Role.MANAGER)
    grant, voucher = _voucher(agent)

    grant_reverse(grant=grant, actor=manager, reason="Customer already compensated")

    grant.refresh_from_db()
    voucher.refresh_from_db()
    assert grant.state == Grant.State.REVERSED and voucher.voided_at is not None
    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [
        Decimal("-25.00"),
        Decimal("25.00"),
    ]
    assert allowance_for(user=agent).spent_this_period == Decimal("0.00")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.GRANT_REVERSED).exists()
    assert CaseEvent.objects.filter(kind="compensation_reversed").exists()
    with pytest.raises(Conflict) as caught:
        voucher_redeem(code=voucher.code, by="till")
    assert caught.value.code == "voucher_void"
    with pytest.raises(Conflict):
        grant_reverse(grant=grant, actor=manager, reason="again")


def test_given_a_redeemed_voucher_when_reversed_then_it_is_refused() -> None:
    grant, voucher = _voucher()
    voucher_redeem(code=voucher.code, by="till")

    with pytest.raises(Conflict, match="redeemed"):
        grant_reverse(grant=grant, actor=staff(Role.MANAGER), reason="Oops")
    assert LedgerEntry.objects.count() == 1


def test_given_an_agent_or_lead_when_reversing_then_it_is_forbidden() -> None:
    grant, _ = _voucher()

    for role in (Role.AGENT, Role.LEAD):
        with pytest.raises(Forbidden):
            grant_reverse(grant=grant, actor=staff(role), reason="no")
