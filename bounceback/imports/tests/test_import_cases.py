"""Historical complaints: closed stay closed and quiet, re-imports update, dates never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounceback.cases.models import Case
from bounceback.errors import ValidationFailed
from bounceback.imports.services import import_csv
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.webhooks_factories import WebhookSubscriptionFactory
from bounceback.timers.models import Timer
from bounceback.webhooks.models import WebhookDelivery

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db

MAP = {
    "Ticket": "external_id",
    "Created": "opened_at",
    "Status": "status",
    "Text": "description",
    "Topic": "category",
    "Email": "customer_email",
}
FILE = """
    Ticket,Created,Status,Text,Topic,Email
    Z-1,2019-03-04,Closed,Bill charged twice,Billing,ann@example.com
    Z-2,2019-03-05,Open,Still no refund,Billing,ann@example.com
    Z-3,2019-03-06,Solved,Lost parcel,Delivery,
"""


def test_closed_complaints_stay_closed_and_start_nothing(write_csv: WriteCsv) -> None:
    WebhookSubscriptionFactory(events=["case.opened", "case.closed"])
    result = import_csv(kind="cases", path=write_csv(FILE), column_map=MAP, source="zendesk")

    closed = Case.objects.get(external_id="Z-1")
    assert result.run.rows_created == 3
    assert closed.status == "closed" and closed.created_at.date().isoformat() == "2019-03-04"
    assert not Timer.objects.for_subject("case", closed.pk).exists()
    assert OutboundMessage.objects.count() == 0
    # Only the open complaint is announced (case.opened); the closed ones are quiet.
    assert WebhookDelivery.objects.filter(event="case.closed").count() == 0
    assert WebhookDelivery.objects.filter(event="case.opened").count() == 1
    assert Case.objects.get(external_id="Z-2").customer == closed.customer


def test_re_importing_updates_and_never_duplicates(write_csv: WriteCsv) -> None:
    import_csv(kind="cases", path=write_csv(FILE), column_map=MAP, source="zendesk")
    changed = FILE.replace("Lost parcel", "Lost parcel - courier says delivered")

    again = import_csv(
        kind="cases", path=write_csv(changed, name="b.csv"), column_map=MAP, source="zendesk"
    )

    assert (again.run.rows_created, again.run.rows_updated, again.run.rows_unchanged) == (0, 1, 2)
    assert Case.objects.count() == 3
    assert "courier" in Case.objects.get(external_id="Z-3").description


def test_ambiguous_dates_stop_the_import_with_example_rows(write_csv: WriteCsv) -> None:
    path = write_csv(
        FILE.replace("2019-03-04", "03-04-15")
        .replace("2019-03-05", "05-06-15")
        .replace("2019-03-06", "07-08-15")
    )

    with pytest.raises(ValidationFailed) as refused:
        import_csv(kind="cases", path=path, column_map=MAP, source="zendesk")
    settled = import_csv(
        kind="cases", path=path, column_map=MAP, source="zendesk", date_format="DMY"
    )

    assert refused.value.code == "ambiguous_dates"
    assert "line 2: '03-04-15'" in refused.value.message
    assert settled.run.rows_created == 3
    assert Case.objects.get(external_id="Z-1").created_at.date().isoformat() == "2015-04-03"


def test_a_format_change_partway_stops_before_writing(write_csv: WriteCsv) -> None:
    path = write_csv(FILE.replace("2019-03-06", "06/03/2019"))

    with pytest.raises(ValidationFailed) as refused:
        import_csv(kind="cases", path=path, column_map=MAP, source="zendesk")

    assert refused.value.code == "mixed_date_formats"
    assert Case.objects.count() == 0


def test_unambiguous_day_first_dates_are_read(write_csv: WriteCsv) -> None:
    path = write_csv(
        FILE.replace("2019-03-04", "24/03/2019")
        .replace("2019-03-05", "25/03/2019")
        .replace("2019-03-06", "01/04/2019")
    )

    import_csv(kind="cases", path=path, column_map=MAP, source="zendesk")

    assert Case.objects.get(external_id="Z-3").created_at.date().isoformat() == "2019-04-01"


def test_the_api_imports_in_bulk_and_reports_bad_items(make_token_client) -> None:
    client = make_token_client("cases:write")
    items = [
        {
            "external_id": "F-1",
            "opened_at": "2020-01-02T10:00:00Z",
            "status": "closed",
            "summary": "Rude agent",
            "customer_name": "Bo",
        },
        {"external_id": "F-2", "opened_at": "not a date", "summary": "x"},
    ]

    response = client.post(
        "/api/cases/import",
        {"source": "freshdesk", "items": items},
        content_type="application/json",
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["index"] == 1 and body["errors"][0]["field"] == "opened_at"
    assert Case.objects.get(external_id="F-1").status == "closed"


def test_the_real_cfpb_sample_head_imports(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"
    path = source / "cfpb_complaints_2019_sample.csv"
    if not path.exists():
        pytest.skip("shared data not present")
    head = tmp_path / "cfpb.csv"
    with path.open(encoding="utf-8") as src:
        import csv

        rows = list(csv.reader(src))[:61]
    with head.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)

    result = import_csv(
        kind="cases",
        path=head,
        source="cfpb",
        ignore_unknown=True,
        column_map={
            "Complaint ID": "external_id",
            "Date received": "opened_at",
            "Consumer complaint narrative": "description",
            "Issue": "category",
            "Product": "product",
            "Submitted via": "channel",
            "Company response to consumer": "status",
            "Date sent to company": "",
        },
    )

    assert result.run.rows_created + result.run.rows_rejected == 60
    assert result.run.rows_created >= 58
    assert Case.objects.filter(status="closed").count() >= 50
