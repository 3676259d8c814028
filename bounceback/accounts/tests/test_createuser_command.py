from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bounceback.accounts.models import Team, User
from bounceback.server.testing import process_env, run_cli
from bounceback.testing.factories import TeamFactory, UserFactory

GOOD_PASSWORD = "Loud-Lantern-Quiet-Harbour-7"


def createuser(*args: str) -> str:
    out = io.StringIO()
    call_command("createuser", *args, stdout=out)
    return out.getvalue()


def test_creates_a_user_with_role_names_and_a_new_team() -> None:
    said = createuser(
        "dana",
        "--role=lead",
        "--email=dana@example.com",
        "--first-name=Dana",
        "--last-name=Reyes",
        "--team=Night shift",
        f"--password={GOOD_PASSWORD}",
    )

    user = User.objects.get(username="dana")
    assert (user.role, user.email, user.get_full_name()) == (
        "lead",
        "dana@example.com",
        "Dana Reyes",
    )
    assert user.team is not None and user.team.name == "Night shift"
    assert list(user.groups.values_list("name", flat=True)) == ["lead"]
    assert user.check_password(GOOD_PASSWORD)
    assert "Created lead 'dana' in team 'Night shift'" in said


def test_joins_an_existing_team_whatever_its_case() -> None:
    team = TeamFactory(name="Front Desk")

    createuser("eli", "--team=front desk", f"--password={GOOD_PASSWORD}")

    assert User.objects.get(username="eli").team == team
    assert Team.objects.count() == 1


def test_an_admin_can_use_the_django_admin() -> None:
    createuser("root", "--role=admin", f"--password={GOOD_PASSWORD}")

    user = User.objects.get(username="root")
    assert user.is_staff and user.is_superuser


def test_asks_for_the_password_twice_in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    createuser("fay")

    assert User.objects.get(username="fay").check_password(GOOD_PASSWORD)


def test_refuses_passwords_that_do_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    with pytest.raises(CommandError, match="do not match"):
        createuser("gus")
    assert not User.objects.filter(username="gus").exists()


def test_reads_a_piped_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{GOOD_PASSWORD}\n"))

    createuser("hal")

    assert User.objects.get(username="hal").check_password(GOOD_PASSWORD)


def test_service_refusals_become_clear_command_errors() -> None:
    UserFactory(username="ivy")

    with pytest.raises(CommandError, match="a user named 'IVY' already exists"):
        createuser("IVY", f"--password={GOOD_PASSWORD}")
    with pytest.raises(CommandError, match="too short"):
        createuser("jo", "--password=short")
    with pytest.raises(CommandError, match="too short"):
        createuser("jo", "--password=short", "--team=Ghost team")
    # The refused user's team was not left behind either.
    assert not Team.objects.filter(name="Ghost team").exists()


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_mistakes_are_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    env = process_env(data_dir=tmp_path)

    bad_role = run_cli("createuser", "kim", "--role=wizard", f"--password={GOOD_PASSWORD}", env=env)
    assert bad_role.returncode != 0
    assert "invalid choice: 'wizard'" in bad_role.stderr
    assert "agent" in bad_role.stderr and "admin" in bad_role.stderr

    made = run_cli("createuser", "kim", f"--password={GOOD_PASSWORD}", env=env)
    assert made.returncode == 0, made.stderr
    again = run_cli("createuser", "kim", f"--password={GOOD_PASSWORD}", env=env)
    assert again.returncode == 1
    assert "a user named 'kim' already exists" in again.stderr

    for result in (bad_role, again):
        assert "Traceback" not in result.stderr
