"""Importing transactions: good rows stored, bad rows reported by line, re-imports update."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bounceback.audit.models import AuditEvent
from bounceback.customers.models import Customer
from bounceback.errors import ValidationFailed
from bounceback.imports.models import ImportRun
from bounceback.imports.services import import_csv
from bounceback.testing.factories import CustomerFactory
from bounceback.transactions.models import Transaction

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db

MIXED = """
    external_id,customer_email,kind,amount,currency,occurred_at,site,product
    T-1,ann@example.com,booking,120.00,USD,2026-03-01T19:00:00Z,grand-hall,Concert
    T-2,ann@example.com,order,twelve,USD,2026-03-02,,Mug
    T-3,nobody@example.com,order,10.00,USD,2026-03-02,,Mug
    T-4,ann@example.com,order,10.00,USD,03/02/2026,,Mug
    T-1,ann@example.com,order,10.00,USD,2026-03-02,,Mug
    T-5,bob@example.com,delivery,5.50,USD,2026-03-03,,"Delivery of the mug,
    left with a neighbour"
    T-6,bob@example.com,order,-3,USD,2026-03-03,,Refund
    T-7,bob@example.com,subscription,9.99,,2026-03-04,,Season pass
"""


@pytest.fixture
def ann() -> Customer:
    return CustomerFactory(name="Ann", email="ann@example.com")


@pytest.fixture
def bob() -> Customer:
    return CustomerFactory(name="Bob", email="bob@example.com")


def test_good_rows_are_stored_and_bad_rows_reported_by_line(
    write_csv: WriteCsv, ann: Customer, bob: Customer
) -> None:
    # Given a file mixing good rows with a bad amount, an unknown customer, a bad
    # date, a repeated external id and a negative amount
    path = write_csv(MIXED)

    # When it is imported
    result = import_csv(kind="transactions", path=path)

    # Then exactly the good rows are stored
    stored = dict(Transaction.objects.values_list("external_id", "amount"))
    assert stored == {"T-1": Decimal("120.00"), "T-5": Decimal("5.50"), "T-7": Decimal("9.99")}
    # ...the quoted two-line product came through whole, and a blank currency is the business's
    delivery = Transaction.objects.get(external_id="T-5")
    assert delivery.product == "Delivery of the mug,\nleft with a neighbour"
    assert Transaction.objects.get(external_id="T-7").currency == "USD"
    # ...and each bad row is reported on the line it starts on, with its reason
    reported = [(r.line, r.field) for r in result.rejections]
    assert reported == [
        (3, "amount"),
        (4, "customer_email"),
        (5, "occurred_at"),
        (6, "external_id"),
        (9, "amount"),
    ]
    messages = {r.line: r.message for r in result.rejections}
    assert "twelve" in messages[3]
    assert "nobody@example.com" in messages[4]
    assert "line 2" in messages[6]
    # ...and the run records what happened
    run = ImportRun.objects.get()
    assert (run.rows_read, run.rows_created, run.rows_rejected) == (8, 3, 5)
    assert run.finished_at is not None
    assert [r["line"] for r in run.rejections] == [3, 4, 5, 6, 9]


def test_stored_rows_count_towards_lifetime_value(
    write_csv: WriteCsv, ann: Customer, bob: Customer
) -> None:
    # Given a file of two of Bob's purchases
    path = write_csv(
        """
        external_id,customer_email,kind,amount,occurred_at
        B-1,bob@example.com,order,40.00,2026-01-05
        B-2,bob@example.com,order,2.50,2026-01-06
        """
    )

    # When it is imported
    import_csv(kind="transactions", path=path)

    # Then Bob's lifetime value shows them
    bob.refresh_from_db()
    assert bob.lifetime_value == Decimal("42.50")


def test_importing_the_same_file_again_updates_instead_of_duplicating(
    write_csv: WriteCsv, ann: Customer, bob: Customer
) -> None:
    # Given a file that was imported once
    text = """
        external_id,customer_email,kind,amount,occurred_at,status
        R-1,ann@example.com,booking,50.00,2026-02-01,confirmed
        R-2,bob@example.com,booking,70.00,2026-02-01,confirmed
        """
    first = import_csv(kind="transactions", path=write_csv(text))
    assert first.run.rows_created == 2

    # When it is imported again, one row changed in the meantime
    second = import_csv(kind="transactions", path=write_csv(text.replace("70.00", "75.00")))

    # Then no row is added twice; the changed row is updated, the other left alone
    assert Transaction.objects.count() == 2
    assert Transaction.objects.get(external_id="R-2").amount == Decimal("75.00")
    run = second.run
    assert (run.rows_created, run.rows_updated, run.rows_unchanged) == (0, 1, 1)


def test_a_big_file_goes_in_chunks_and_repeats_across_chunks_are_caught(
    write_csv: WriteCsv, ann: Customer
) -> None:
    # Given 2,500 rows where row 2,400 repeats the external id of row 5
    lines = ["external_id,customer_email,kind,amount,occurred_at"]
    for n in range(1, 2501):
        ident = "BIG-4" if n == 2400 else f"BIG-{n}"
        lines.append(f"{ident},ann@example.com,order,{n}.00,2026-01-01T10:00:00Z")
    path = write_csv("\n".join(lines) + "\n")

    # When it is imported
    result = import_csv(kind="transactions", path=path)

    # Then every other row is stored, and the repeat is reported with both lines
    assert Transaction.objects.count() == 2499
    assert [(r.line, r.field) for r in result.rejections] == [(2401, "external_id")]
    assert "line 5" in result.rejections[0].message


def test_columns_can_be_mapped_and_extra_ones_kept_as_attributes(
    write_csv: WriteCsv, ann: Customer
) -> None:
    # Given a booking system's export with its own column names
    path = write_csv(
        """
        Booking Ref,E-mail,Type,Total,Booked At,Venue,Seat
        BK-9,ann@example.com,Booking,88.00,2026-04-01 18:30,grand-hall,F12
        """
    )

    # When it is imported with a column map
    import_csv(
        kind="transactions",
        path=path,
        column_map={
            "Booking Ref": "external_id",
            "E-mail": "customer_email",
            "Type": "kind",
            "Total": "amount",
            "Booked At": "occurred_at",
            "Venue": "site",
            "Seat": "attributes.seat",
        },
        source="bookings",
    )

    # Then the row is stored with the mapped values, under the given source
    row = Transaction.objects.get()
    assert (row.source, row.external_id, row.kind) == ("bookings", "BK-9", "booking")
    assert row.site is not None and row.site.code == "grand-hall"
    assert row.attributes == {"seat": "F12"}


def test_customers_can_be_named_by_their_id_in_another_system(
    write_csv: WriteCsv, ann: Customer
) -> None:
    # Given Ann is known to the booking system as C-1
    from bounceback.customers.services import ExternalIdentity, customer_update

    customer_update(customer=ann, external_ids=[ExternalIdentity("bookings", "C-1")])
    path = write_csv(
        """
        external_id,customer_external_id,kind,amount,occurred_at
        X-1,C-1,booking,10.00,2026-01-01
        X-2,C-2,booking,10.00,2026-01-01
        """
    )

    # When the booking system's file is imported under its source
    result = import_csv(kind="transactions", path=path, source="bookings")

    # Then the customer is found by that id, and an unknown one is reported
    assert Transaction.objects.get().customer == ann
    assert [(r.line, r.field) for r in result.rejections] == [(3, "customer_external_id")]

    # ...and a shop's file naming customers by their booking-system id finds them too
    shop = write_csv(
        "external_id,customer_external_id,kind,amount,occurred_at\nS-1,C-1,order,5.00,2026-01-02\n"
    )
    import_csv(kind="transactions", path=shop, source="shop", customer_source="bookings")
    assert Transaction.objects.get(source="shop").customer == ann


def test_an_import_is_audited(write_csv: WriteCsv, ann: Customer, admin_user: object) -> None:
    # When an admin imports a file
    result = import_csv(kind="transactions", path=write_csv(MIXED), actor=admin_user)

    # Then the audit log says who imported what, with the counts
    event = AuditEvent.objects.get(action=AuditEvent.Action.IMPORT_RUN)
    assert event.actor == admin_user
    assert event.target == f"import:{result.run.pk}"
    assert event.data["rejected"] == result.run.rows_rejected
    assert result.run.actor == admin_user


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("customer_email,kind,amount,occurred_at", "external_id"),
        ("external_id,kind,amount,occurred_at", "the customer"),
        ("external_id,customer_email,kind,occurred_at", "amount"),
    ],
)
def test_a_file_without_a_needed_column_is_refused(
    write_csv: WriteCsv, header: str, missing: str
) -> None:
    # Given a file lacking a column every row needs
    path = write_csv(header + "\n" + ",".join("x" for _ in header.split(",")) + "\n")

    # When it is imported, then it is refused as a whole and nothing is recorded
    with pytest.raises(ValidationFailed, match=f"no column for {missing}"):
        import_csv(kind="transactions", path=path)
    assert not ImportRun.objects.exists()
