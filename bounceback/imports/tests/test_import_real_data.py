"""The importer on real public data: CFPB consumer complaints (2019 sample).

The file has long narratives in quoted cells that span many lines, so a row's
line number is not its row number: a good test of what users are told.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bounceback.customers.models import Customer
from bounceback.imports.services import import_csv

pytestmark = pytest.mark.django_db

CFPB = Path("/work/shared/data/real/cfpb_complaints_2019_sample.csv")
ROWS = 600
CHANNELS = {"web": "web", "phone": "phone", "email": "email"}
MAP = {
    "Company": "name",
    "Complaint ID": "external_id",
    "Consumer complaint narrative": "notes",
    "Submitted via": "preferred_channel",
}

needs_data = pytest.mark.skipif(not CFPB.exists(), reason="CFPB sample not available")


@pytest.fixture
def cfpb_slice(tmp_path: Path) -> Path:
    """The file's first ROWS complaints, byte for byte, cut at a row's end."""
    raw_lines = CFPB.read_bytes().splitlines(keepends=True)
    with CFPB.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        for _ in range(ROWS + 1):
            next(reader)
        end = reader.line_num
    path = tmp_path / "complaints.csv"
    path.write_bytes(b"".join(raw_lines[:end]))
    return path


@needs_data
def test_complaints_become_customers_with_rejections_on_the_right_lines(
    cfpb_slice: Path,
) -> None:
    # Given 600 real complaints, about a tenth of them sent by referral, post or fax,
    # which are not channels a customer can prefer
    with cfpb_slice.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    usable = [r for r in records if r["Submitted via"].lower() in CHANNELS]
    unusable = Counter(r["Submitted via"] for r in records if r not in usable)
    assert len(records) == ROWS and unusable

    # When they are imported as customers, one per complaint
    result = import_csv(
        kind="customers", path=cfpb_slice, column_map=MAP, ignore_unknown=True, source="cfpb"
    )

    # Then every usable complaint is a customer and every other one is rejected
    assert result.run.rows_read == ROWS
    assert result.run.rows_created == len(usable) == Customer.objects.count()
    assert len(result.rejections) == sum(unusable.values())
    assert {r.column for r in result.rejections} == {"Submitted via"}

    # ...each rejection names the line its row starts on, as an editor numbers them
    text_lines = cfpb_slice.read_text(encoding="utf-8-sig").splitlines()
    by_id = {r["Complaint ID"]: r for r in records}
    rejected_ids = {r.row["Complaint ID"] for r in result.rejections}
    assert rejected_ids == {r["Complaint ID"] for r in records if r not in usable}
    for rejection in result.rejections:
        record = by_id[rejection.row["Complaint ID"]]
        span = 1 + sum(cell.count("\n") for cell in record.values())
        first, last = text_lines[rejection.line - 1], text_lines[rejection.line - 2 + span]
        assert first.startswith(record["Date received"] + ",")
        assert last.endswith("," + record["Complaint ID"])
    # ...and rows after multi-line narratives are numbered past those lines
    assert max(r.line for r in result.rejections) > ROWS + 1


@needs_data
def test_a_multi_line_narrative_arrives_whole(cfpb_slice: Path) -> None:
    # When the complaints are imported
    import_csv(
        kind="customers", path=cfpb_slice, column_map=MAP, ignore_unknown=True, source="cfpb"
    )

    # Then complaint 3384392, whose narrative spans two lines, keeps both
    customer = Customer.objects.get(
        external_ids__source="cfpb", external_ids__external_id="3384392"
    )
    assert customer.name == "TRANSWORLD SYSTEMS INC"
    assert customer.notes.startswith("transworld systems inc.")
    assert "\nis trying to collect a debt that is not mine" in customer.notes
