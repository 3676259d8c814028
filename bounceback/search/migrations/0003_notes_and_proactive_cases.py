"""Internal notes (case events of kind "note") are searched; cases a breakdown's outreach
opens are not indexed as they are inserted.

Outreach inserts tens of thousands of cases with one summary (the breakdown's
title) in one statement; indexing each cost PostgreSQL about as much again as
the insert (measured at 100,000: 14.6 s on a loaded 2-core machine). Those
cases are found by reference, by their customer's email or phone, by the
breakdown filter of the inbox, and by anything the customer writes back.
"""

from django.db import migrations

PG_INSERTED = """CREATE OR REPLACE FUNCTION search_cases_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_searchentry(case_id, source, source_id, body)
    SELECT n.id, 'case', n.id, concat_ws(' ', n.reference, n.summary, n.description,
        (SELECT name FROM customers_customer WHERE id = n.customer_id))
    FROM new_rows n WHERE NOT n.proactive;
    RETURN NULL;
END $$"""

PG_INSERTED_BEFORE = """CREATE OR REPLACE FUNCTION search_cases_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_searchentry(case_id, source, source_id, body)
    SELECT n.id, 'case', n.id, concat_ws(' ', n.reference, n.summary, n.description,
        (SELECT name FROM customers_customer WHERE id = n.customer_id))
    FROM new_rows n;
    RETURN NULL;
END $$"""

SQLITE_CASE_BODY = (
    "coalesce(new.reference, '') || ' ' || new.summary || ' ' || new.description || ' ' || "
    "coalesce((SELECT name FROM customers_customer WHERE id = new.customer_id), '')"
)


def sqlite_case_trigger(when: str) -> str:
    return (
        f"CREATE TRIGGER search_case_ai AFTER INSERT ON cases_case {when} BEGIN "
        "INSERT INTO search_searchentry(case_id, source, source_id, body) "
        f"VALUES (new.id, 'case', new.id, {SQLITE_CASE_BODY}); END"
    )


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSERTED)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_case_ai")
        schema_editor.execute(sqlite_case_trigger("WHEN NOT new.proactive"))
    # Notes written before notes were searched.
    CaseEvent = apps.get_model("cases", "CaseEvent")
    SearchEntry = apps.get_model("search", "SearchEntry")
    notes = CaseEvent.objects.filter(kind="note").values_list("pk", "case_id", "data")
    SearchEntry.objects.bulk_create(
        [
            SearchEntry(case_id=case_id, source="note", source_id=pk, body=str(data["body"]))
            for pk, case_id, data in notes.iterator()
            if isinstance(data, dict) and data.get("body")
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSERTED_BEFORE)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_case_ai")
        schema_editor.execute(sqlite_case_trigger(""))


class Migration(migrations.Migration):
    dependencies = [("search", "0002_full_text_index")]

    operations = [migrations.RunPython(forward, backward)]
