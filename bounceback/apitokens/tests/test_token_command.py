from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from bounceback import cli
from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.scopes import SCOPES


def token(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def api_status(plaintext: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get("/api/customers/").status_code


def test_create_prints_a_working_token_once_list_shows_it_and_revoke_stops_it() -> None:
    out, err = token("create", "Shop sync", "--scope", "customers:read")
    plaintext = out.strip()
    made = ApiToken.objects.get()

    assert plaintext.startswith(f"bb_{made.prefix}_")
    assert "will not be shown again" in err
    assert plaintext not in err
    assert api_status(plaintext) == 200

    listed, _ = token("list")
    header, row = listed.splitlines()
    assert header.split()[:3] == ["PREFIX", "NAME", "SCOPES"]
    assert row.startswith(f"{made.prefix}  Shop sync")
    assert "customers:read" in row
    assert plaintext not in listed

    said, _ = token("revoke", made.prefix)
    assert f"Revoked token 'Shop sync' (prefix {made.prefix})" in said
    assert api_status(plaintext) == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_scopes_can_be_repeated_or_comma_separated() -> None:
    token(
        "create",
        "CRM",
        "--scope",
        "customers:write,transactions:read",
        "--scope",
        "interactions:read",
    )

    assert ApiToken.objects.get().scopes == [
        "customers:write",
        "interactions:read",
        "transactions:read",
    ]


def test_a_token_only_reaches_what_its_scopes_allow() -> None:
    out, _ = token("create", "Reviews", "--scope", "interactions:read")

    assert api_status(out.strip()) == 403


def test_bad_input_gives_a_clear_error_and_creates_nothing() -> None:
    with pytest.raises(CommandError, match=r"unknown scope\(s\) customers:delete"):
        token("create", "Oops", "--scope", "customers:delete")
    with pytest.raises(CommandError, match="scope"):
        token("create", "No scope")
    with pytest.raises(CommandError, match="no token with prefix 'nope'"):
        token("revoke", "nope")
    assert not ApiToken.objects.exists()


def test_list_says_when_there_are_none() -> None:
    out, _ = token("list")

    assert "No API tokens yet" in out


def test_create_help_lists_every_scope(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["token", "create", "--help"])

    shown = capsys.readouterr().out
    for scope, description in SCOPES.items():
        assert scope in shown and description in shown


# --- Tokens that act for a member of staff (issue 13) ----------------------------------------


@pytest.mark.django_db
def test_given_as_a_lead_then_the_token_acts_for_them_and_can_spend_their_fund() -> None:
    from bounceback.accounts.roles import Role
    from bounceback.audit.models import AuditEvent
    from bounceback.funds.models import Grant
    from bounceback.testing.funds_factories import open_case, staff

    lead = staff(Role.LEAD)
    case = open_case()
    out, err = token("create", "Till", "--scope", "funds:write", "--as", lead.username.upper())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {out.strip()}")

    made = client.post(
        f"/api/funds/cases/{case.pk}/grants",
        {"kind": "refund", "value": "20.00", "reason": "Cold food"},
        content_type="application/json",
    )

    assert made.status_code == 201, made.content
    assert made.json()["granted_by_id"] == lead.pk
    assert Grant.objects.get().granted_by == lead
    assert f"acting for {lead.username}" in err
    assert ApiToken.objects.get().created_by == lead
    assert AuditEvent.objects.get(action="token_created").data["acts_for"] == lead.username
    listed, _ = token("list")
    assert listed.splitlines()[1].rstrip().endswith(lead.username)


@pytest.mark.django_db
def test_given_as_nobody_known_or_inactive_then_no_token_is_made() -> None:
    from bounceback.testing.factories import UserFactory

    UserFactory(username="gone", is_active=False)

    with pytest.raises(CommandError, match="no member of staff is called 'ghost'"):
        token("create", "Till", "--scope", "funds:write", "--as", "ghost")
    with pytest.raises(CommandError, match="gone is not an active member of staff"):
        token("create", "Till", "--scope", "funds:write", "--as", "gone")
    assert not ApiToken.objects.exists()
