"""`bounceback import`: the summary, the rejected rows, the report file and the exit status."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bounceback.customers.models import Customer
from bounceback.testing.factories import CustomerFactory
from bounceback.transactions.models import Transaction

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def orders(write_csv: WriteCsv) -> Path:
    CustomerFactory(name="Ann", email="ann@example.com")
    rows = ["Order No,Email,Kind,Total,Date"]
    rows += [f"O-{n},ann@example.com,order,{n}.00,2026-01-01" for n in range(1, 31)]
    rows += [f"O-bad-{n},ann@example.com,order,free,2026-01-01" for n in range(1, 26)]
    return write_csv("\n".join(rows) + "\n", name="orders.csv")


MAP = ["--map", "Order No=external_id", "Email=customer_email", "Total=amount", "Date=occurred_at"]


def test_the_command_maps_columns_and_prints_a_summary(orders: Path) -> None:
    # When a file is imported with --map
    output = run_import("transactions", str(orders), *MAP, "--quiet")

    # Then valid rows are stored and the summary shows every count
    assert Transaction.objects.count() == 30
    for label, value in (("read", 55), ("created", 30), ("updated", 0), ("rejected", 25)):
        assert f"{label:<10}{value:>9,}" in output
    # ...and the rejected rows are listed by line, capped on screen
    assert "line 32" in output and "Total (amount)" in output
    assert "line 56" not in output
    assert "and 5 more; --report FILE.csv writes them all" in output


def test_the_report_file_holds_every_rejected_row_as_it_was(orders: Path, tmp_path: Path) -> None:
    report = tmp_path / "rejected.csv"

    # When imported with --report
    run_import("transactions", str(orders), *MAP, "--report", str(report))

    # Then the report lists all 25 rejected rows with line, reason and the original cells
    with report.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 25
    assert rows[0]["line"] == "32" and rows[0]["column"] == "Total"
    assert rows[0]["Order No"] == "O-bad-1" and "free" in rows[0]["reason"]


def test_rejections_exit_zero_unless_asked_to_fail(orders: Path) -> None:
    # When some rows are rejected, the command succeeds by default...
    run_import("transactions", str(orders), *MAP, "--quiet")

    # ...and with --fail-on-reject it exits non-zero, the valid rows still stored
    with pytest.raises(CommandError, match="25 rows were rejected") as failed:
        run_import("transactions", str(orders), *MAP, "--fail-on-reject", "--quiet")
    assert failed.value.returncode == 1
    assert Transaction.objects.count() == 30


def test_a_refused_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"no such file.*Nothing was imported"):
        run_import("customers", str(tmp_path / "missing.csv"))


def test_a_malformed_map_is_explained(orders: Path) -> None:
    with pytest.raises(CommandError, match="COLUMN=FIELD"):
        run_import("transactions", str(orders), "--map", "Order No")


def test_customers_can_be_imported_from_the_command(write_csv: WriteCsv) -> None:
    path = write_csv("Name,Email\nAda,ada@example.com\n")
    output = run_import("customers", str(path), "--map", "Name=name")
    assert Customer.objects.get().name == "Ada"
    assert f"{'created':<10}{1:>9,}" in output
