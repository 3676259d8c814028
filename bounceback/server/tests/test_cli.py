"""The `bounceback` entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import get_commands

from bounceback import cli
from bounceback.server.testing import REPO_ROOT


def test_help_lists_every_command_with_one_line_each() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "bounceback.cli", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert shown.returncode == 0
    listed = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ")]
    assert listed == list(cli.COMMANDS)
    for name in ("serve", "web", "worker", "migrate", "demo", "createuser", "token", "import"):
        assert name in listed


def test_every_listed_command_is_a_django_command() -> None:
    assert set(cli.COMMANDS) - set(get_commands()) == set()


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_command_answers_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])

    assert exited.value.code == 0
    assert f"usage: bounceback {name}" in capsys.readouterr().out


def test_an_unknown_command_fails_with_a_pointer_to_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["frobnicate"])

    assert exited.value.code == 1
    assert "Unknown command: 'frobnicate'" in capsys.readouterr().err


def test_migrate_is_quiet_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line", lambda argv: ran.append(argv)
    )

    cli.main(["migrate"])
    cli.main(["migrate", "-v", "2"])

    assert ran == [
        ["bounceback", "migrate", "--verbosity", "0"],
        ["bounceback", "migrate", "-v", "2"],
    ]
