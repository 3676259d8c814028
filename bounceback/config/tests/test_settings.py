"""Settings come from the environment with safe defaults (checked in fresh processes)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]


def _django(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update({"BOUNCEBACK_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    # An https public address makes the session and CSRF cookies Secure.
    "BOUNCEBACK_PUBLIC_URL": "https://care.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def test_deploy_check_is_clean_once_the_tls_settings_are_given(tmp_path: Path) -> None:
    result = _django(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_only_names_settings_an_operator_can_set(tmp_path: Path) -> None:
    result = _django(["check", "--deploy"], tmp_path, DEBUG="false")

    flagged = {
        line.split(")")[0].split("(")[-1]
        for line in result.stderr.splitlines()
        if "(security." in line
    }
    # HSTS, the https redirect, and the cookies' Secure flag, which follows
    # BOUNCEBACK_PUBLIC_URL (plain http by default) or is set on its own.
    assert flagged <= {"security.W004", "security.W008", "security.W012", "security.W016"}


def test_the_secret_key_is_generated_once_privately_and_kept(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"

    first = _django(["shell", "-c", code], tmp_path)
    second = _django(["shell", "-c", code], tmp_path)

    key_file = tmp_path / "secret_key"
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("BOUNCEBACK_TASK_BACKEND", "carrier-pigeon", "BOUNCEBACK_TASK_BACKEND must be"),
        ("EMAIL_PORT", "twenty-five", "EMAIL_PORT must be a whole number"),
    ],
)
def test_a_bad_setting_is_named_in_a_clear_error(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = _django(["check"], tmp_path, **{name: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_the_command_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(BOUNCEBACK_DATA_DIR=str(tmp_path), DEBUG="maybe")

    result = subprocess.run(
        [sys.executable, "-m", "bounceback.cli", "check"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "configuration error: DEBUG must be true or false" in result.stderr
    assert "Traceback" not in result.stderr


def _setting(tmp_path: Path, code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"BOUNCEBACK_PUBLIC_URL", "PORT"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT,
        env={**clean, "BOUNCEBACK_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


SHOW = (
    "from django.conf import settings as s; "
    "print(s.BOUNCEBACK_PUBLIC_URL, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
)


def test_a_local_run_links_to_its_own_port_and_signs_in_over_http(tmp_path: Path) -> None:
    # `make run PORT=9000`: no DEBUG, links on :9000, cookies a browser sends over http.
    shown = _setting(tmp_path, SHOW, PORT="9000", DEBUG="false")

    assert shown == "http://127.0.0.1:9000 False False False"


def test_behind_a_proxy_links_use_the_public_address_and_cookies_are_secure(
    tmp_path: Path,
) -> None:
    shown = _setting(tmp_path, SHOW, BOUNCEBACK_PUBLIC_URL="https://care.example.com/")

    assert shown == "https://care.example.com True True False"
