"""Whatever file a user points the importer at, the answer is clear and nothing half-happens."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounceback.errors import ValidationFailed
from bounceback.imports.models import ImportRun
from bounceback.imports.services import import_csv
from bounceback.testing.factories import CustomerFactory
from bounceback.transactions.models import Transaction

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db

GOOD = """
    external_id,customer_email,kind,amount,occurred_at
    F-1,ann@example.com,order,10.00,2026-01-01
    F-2,ann@example.com,order,12.00,2026-01-02
"""


@pytest.fixture(autouse=True)
def _ann(db: None) -> None:
    CustomerFactory(name="Ann", email="ann@example.com")


def refused(path: Path, match: str, **kwargs: object) -> None:
    with pytest.raises(ValidationFailed, match=match):
        import_csv(kind="transactions", path=path, **kwargs)  # type: ignore[arg-type]
    assert not Transaction.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_utf8_file_with_a_byte_order_mark_reads_like_one_without(write_csv: WriteCsv) -> None:
    # Given the file Excel writes as "CSV UTF-8": a BOM before the first column name
    path = write_csv(GOOD, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    # When it is imported, then the first column is still recognised
    result = import_csv(kind="transactions", path=path)
    assert result.run.rows_created == 2 and not result.rejections


def test_semicolon_separated_files_from_european_spreadsheets_are_read(
    write_csv: WriteCsv,
) -> None:
    path = write_csv(
        """
        external_id;customer_email;kind;amount;occurred_at
        S-1;ann@example.com;order;10.50;2026-01-01
        """
    )
    result = import_csv(kind="transactions", path=path)
    assert result.run.rows_created == 1


def test_unknown_columns_are_refused_unless_told_to_skip_them(write_csv: WriteCsv) -> None:
    # Given a file with two columns the importer does not know
    path = write_csv(
        """
        external_id,customer_email,kind,amount,occurred_at,Cashier,Till
        U-1,ann@example.com,order,10.00,2026-01-01,Jo,3
        """
    )

    # When imported as is, then it is refused, naming both columns
    refused(path, "unknown columns 'Cashier', 'Till'.*--ignore-unknown")

    # When told to skip unknown columns, then the row goes in and the skipped ones are listed
    result = import_csv(kind="transactions", path=path, ignore_unknown=True)
    assert result.run.rows_created == 1
    assert result.ignored_columns == ["Cashier", "Till"]


def test_a_map_naming_a_column_the_file_lacks_is_refused(write_csv: WriteCsv) -> None:
    refused(write_csv(GOOD), "no such column", column_map={"Order No": "external_id"})


def test_a_map_naming_an_unknown_field_is_refused(write_csv: WriteCsv) -> None:
    refused(write_csv(GOOD), "'price' is not a transactions field", column_map={"amount": "price"})


def test_two_columns_feeding_one_field_are_refused(write_csv: WriteCsv) -> None:
    path = write_csv(GOOD.replace("occurred_at", "date").replace("amount", "amount,total"))
    refused(path, "both feed", column_map={"total": "amount", "date": "occurred_at"})


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    refused(tmp_path / "nope.csv", "no such file")


def test_an_empty_file_is_refused(write_csv: WriteCsv) -> None:
    refused(write_csv(""), "the file is empty")
    refused(write_csv("\ufeff\n\n", encoding="utf-8"), "the file is empty")


def test_a_header_without_rows_imports_nothing(write_csv: WriteCsv) -> None:
    result = import_csv(
        kind="transactions", path=write_csv("external_id,customer_email,kind,amount,occurred_at\n")
    )
    assert result.run.rows_read == 0 and not result.rejections


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        ("external_id,kind\nx,y\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_binary_or_non_utf8_file_is_refused(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    refused(path, match)


def test_a_latin1_file_is_refused_with_the_line_that_is_not_utf8(write_csv: WriteCsv) -> None:
    # Given a file saved in Latin-1 with an accented product on line 3
    path = write_csv(
        """
        external_id,customer_email,kind,amount,occurred_at,product
        F-1,ann@example.com,order,10.00,2026-01-01,Mug
        F-2,ann@example.com,order,12.00,2026-01-02,Crème brûlée set
        """,
        encoding="latin-1",
    )

    # When it is imported, then nothing is stored and the line is named
    refused(path, "line 3 is not UTF-8")


def test_a_row_with_more_cells_than_the_header_is_rejected(write_csv: WriteCsv) -> None:
    path = write_csv(
        """
        external_id,customer_email,kind,amount,occurred_at
        C-1,ann@example.com,order,1,000.00,2026-01-01
        C-2,ann@example.com,order,5.00,2026-01-01
        """
    )
    result = import_csv(kind="transactions", path=path)
    assert [(r.line, r.code) for r in result.rejections] == [(2, "bad_row")]
    assert result.run.rows_created == 1


def test_blank_lines_are_skipped_without_shifting_line_numbers(write_csv: WriteCsv) -> None:
    # Given blank lines and an empty row between records, and a bad amount on line 6
    path = write_csv(
        "external_id,customer_email,kind,amount,occurred_at\n"
        "B-1,ann@example.com,order,1.00,2026-01-01\n"
        "\n"
        ",,,,\n"
        "\n"
        "B-2,ann@example.com,order,lots,2026-01-01\n"
    )
    result = import_csv(kind="transactions", path=path)
    assert result.run.rows_read == 2
    assert [r.line for r in result.rejections] == [6]


def test_progress_is_reported_up_to_the_size_of_the_file(write_csv: WriteCsv) -> None:
    # Given a file of a few hundred rows
    rows = [f"P-{n},ann@example.com,order,1.00,2026-01-01" for n in range(500)]
    path = write_csv("external_id,customer_email,kind,amount,occurred_at\n" + "\n".join(rows))
    seen: list[tuple[int, int | None]] = []

    # When it is imported with a progress callback
    import_csv(
        kind="transactions", path=path, progress=lambda done, total: seen.append((done, total))
    )

    # Then progress grows and ends at the file's size
    size = path.stat().st_size
    assert len(seen) >= 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (size, size)
