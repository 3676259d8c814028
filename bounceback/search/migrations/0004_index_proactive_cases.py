"""Every case is indexed as it is inserted, however it was opened: the cases a
breakdown's outreach opens too (0003 left them out).

A customer contacted by outreach who calls about "the delayed flight" must be
found by those words like anyone who wrote in. To keep outreach's set-based
insert cheap on PostgreSQL, the statement trigger joins the new rows to their
customers once rather than looking each name up with a subquery per row.
Proactive cases opened before this migration are indexed by it.
"""

from django.db import migrations

PG_INSERTED = """CREATE OR REPLACE FUNCTION search_cases_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_searchentry(case_id, source, source_id, body)
    SELECT n.id, 'case', n.id, concat_ws(' ', n.reference, n.summary, n.description, cu.name)
    FROM new_rows n LEFT JOIN customers_customer cu ON cu.id = n.customer_id;
    RETURN NULL;
END $$"""

# 0003's function, put back when this migration is unapplied.
PG_INSERTED_BEFORE = """CREATE OR REPLACE FUNCTION search_cases_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_searchentry(case_id, source, source_id, body)
    SELECT n.id, 'case', n.id, concat_ws(' ', n.reference, n.summary, n.description,
        (SELECT name FROM customers_customer WHERE id = n.customer_id))
    FROM new_rows n WHERE NOT n.proactive;
    RETURN NULL;
END $$"""

SQLITE_CASE_BODY = (
    "coalesce({c}.reference, '') || ' ' || {c}.summary || ' ' || {c}.description || ' ' || "
    "coalesce((SELECT name FROM customers_customer WHERE id = {c}.customer_id), '')"
)

PG_CASE_BODY = (
    "concat_ws(' ', c.reference, c.summary, c.description, "
    "(SELECT name FROM customers_customer WHERE id = c.customer_id))"
)

# Proactive cases 0003 left out (any case with no entry of its own).
BACKFILL = (
    "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    "SELECT c.id, 'case', c.id, {body} FROM cases_case c WHERE NOT EXISTS "
    "(SELECT 1 FROM search_searchentry e WHERE e.source = 'case' AND e.source_id = c.id)"
)


def sqlite_case_trigger(when: str) -> str:
    return (
        f"CREATE TRIGGER search_case_ai AFTER INSERT ON cases_case {when} BEGIN "
        "INSERT INTO search_searchentry(case_id, source, source_id, body) "
        f"VALUES (new.id, 'case', new.id, {SQLITE_CASE_BODY.format(c='new')}); END"
    )


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSERTED)
        schema_editor.execute(BACKFILL.format(body=PG_CASE_BODY))
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_case_ai")
        schema_editor.execute(sqlite_case_trigger(""))
        schema_editor.execute(BACKFILL.format(body=SQLITE_CASE_BODY.format(c="c")))


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_INSERTED_BEFORE)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS search_case_ai")
        schema_editor.execute(sqlite_case_trigger("WHEN NOT new.proactive"))
    else:
        return
    schema_editor.execute(
        "DELETE FROM search_searchentry WHERE source = 'case' AND case_id IN "
        "(SELECT id FROM cases_case WHERE proactive)"
    )


class Migration(migrations.Migration):
    dependencies = [("search", "0003_notes_and_proactive_cases")]

    operations = [migrations.RunPython(forward, backward)]
