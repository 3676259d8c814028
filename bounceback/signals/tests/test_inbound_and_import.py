"""Signals arriving from a webhook channel set to deliver signals, and from CSV."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from bounceback.cases.models import Case
from bounceback.imports.services import import_csv
from bounceback.signals.models import Signal
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.webhooks_factories import InboundChannelFactory
from bounceback.webhooks.models import InboundChannel
from bounceback.webhooks.signing import signed_headers

pytestmark = pytest.mark.django_db


def test_a_channel_set_to_deliver_signals_records_a_mention_not_a_case() -> None:
    channel = InboundChannelFactory(
        slug="mentions", kind=InboundChannel.Kind.SOCIAL, delivers="signals"
    )
    body = json.dumps(
        {
            "id": "tw-1",
            "sender": {"id": "@ada", "name": "Ada"},
            "text": "Stuck on the tarmac for 3 hours, no water",
            "timestamp": int(time.time()) - 5,
        }
    ).encode()

    def post() -> int:
        return (
            Client()
            .post(
                "/hooks/mentions/",
                data=body,
                content_type="application/json",
                headers=signed_headers(secret=channel.secret, body=body),
            )
            .status_code
        )

    first, again = post(), post()

    assert (first, again) == (202, 200)
    signal = Signal.objects.get()
    assert signal.kind == "mention" and signal.author == "Ada"
    assert signal.customer is not None
    assert Case.objects.count() == 0


def test_import_signals_from_csv_reports_bad_rows_and_is_harmless_twice(
    tmp_path: Path, capsys
) -> None:
    CustomerFactory(email="ann@example.com")
    path = tmp_path / "nps.csv"
    path.write_text(
        "Response ID,Email,Score,Comment,Submitted\n"
        "N-1,ann@example.com,2,Nobody called me back,2026-03-01T10:00:00Z\n"
        "N-2,ann@example.com,eleven,??,2026-03-02T10:00:00Z\n"
        "N-3,,9,Lovely staff,2026-03-03T10:00:00Z\n"
    )
    column_map = {
        "Response ID": "external_id",
        "Score": "nps",
        "Comment": "text",
        "Submitted": "occurred_at",
    }

    first = import_csv(kind="signals", path=path, column_map=column_map, source="nps-tool")
    call_command(
        "import",
        "signals",
        str(path),
        "--source",
        "nps-tool",
        "--quiet",
        *[a for k, v in column_map.items() for a in ("--map", f"{k}={v}")],
    )

    assert (first.run.rows_created, first.run.rows_rejected) == (2, 1)
    assert first.rejections[0].line == 3 and first.rejections[0].column == "Score"
    assert "unchanged" in capsys.readouterr().out
    assert Signal.objects.filter(source="nps-tool").count() == 2
    assert Signal.objects.get(external_id="N-1").customer is not None
