"""The full-text index and the triggers that keep search entries in step with cases and messages.

Triggers rather than service calls: cases and messages are written by many
services and by set-based code (a breakdown's outreach inserts thousands at
once through COPY), and a trigger indexes every one of them in the writing
transaction. On PostgreSQL the inserts are statement triggers over the new
rows (one set-based INSERT per statement, not one per row); SQLite has only
row triggers.

What is indexed: a case's reference, summary, description and customer's name
(one entry per case, `source = 'case'`), and each message from the customer or
internal note on a case (`source = 'message'`); our own outgoing messages are
not (a breakdown's wave sends the same words to everyone).
"""

from django.db import migrations

SEARCHED_DIRECTIONS = "('inbound', 'internal')"

SQLITE_CASE_BODY = (
    "coalesce({c}.reference, '') || ' ' || {c}.summary || ' ' || {c}.description || ' ' || "
    "coalesce((SELECT name FROM customers_customer WHERE id = {c}.customer_id), '')"
)

SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_searchentry', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entry_ai AFTER INSERT ON search_searchentry BEGIN "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER search_entry_ad AFTER DELETE ON search_searchentry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER search_entry_au AFTER UPDATE OF body ON search_searchentry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER search_case_ai AFTER INSERT ON cases_case BEGIN "
    "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    f"VALUES (new.id, 'case', new.id, {SQLITE_CASE_BODY.format(c='new')}); END",
    "CREATE TRIGGER search_case_au AFTER UPDATE OF reference, summary, description, customer_id "
    "ON cases_case BEGIN UPDATE search_searchentry "
    f"SET body = {SQLITE_CASE_BODY.format(c='new')} "
    "WHERE source = 'case' AND source_id = new.id; END",
    "CREATE TRIGGER search_case_ad AFTER DELETE ON cases_case BEGIN "
    "DELETE FROM search_searchentry WHERE case_id = old.id; END",
    "CREATE TRIGGER search_customer_au AFTER UPDATE OF name ON customers_customer BEGIN "
    "UPDATE search_searchentry SET body = (SELECT "
    f"{SQLITE_CASE_BODY.format(c='c')} FROM cases_case c WHERE c.id = search_searchentry.case_id) "
    "WHERE source = 'case' AND case_id IN (SELECT id FROM cases_case WHERE customer_id = new.id); "
    "END",
    "CREATE TRIGGER search_message_ai AFTER INSERT ON interactions_interaction "
    f"WHEN new.case_id IS NOT NULL AND new.direction IN {SEARCHED_DIRECTIONS} BEGIN "
    "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    "VALUES (new.case_id, 'message', new.id, new.subject || ' ' || new.body); END",
    "CREATE TRIGGER search_message_au AFTER UPDATE OF case_id, subject, body, direction "
    "ON interactions_interaction BEGIN "
    "DELETE FROM search_searchentry WHERE source = 'message' AND source_id = old.id; "
    "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    "SELECT new.case_id, 'message', new.id, new.subject || ' ' || new.body "
    f"WHERE new.case_id IS NOT NULL AND new.direction IN {SEARCHED_DIRECTIONS}; END",
    "CREATE TRIGGER search_message_ad AFTER DELETE ON interactions_interaction BEGIN "
    "DELETE FROM search_searchentry WHERE source = 'message' AND source_id = old.id; END",
]

SQLITE_DOWN = [
    *[
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "search_entry_ai",
            "search_entry_ad",
            "search_entry_au",
            "search_case_ai",
            "search_case_au",
            "search_case_ad",
            "search_customer_au",
            "search_message_ai",
            "search_message_au",
            "search_message_ad",
        )
    ],
    "DROP TABLE IF EXISTS search_fts",
]

PG_CASE_BODY = (
    "concat_ws(' ', {c}.reference, {c}.summary, {c}.description, "
    "(SELECT name FROM customers_customer WHERE id = {c}.customer_id))"
)

PG_UP = [
    "ALTER TABLE search_searchentry ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
    "CREATE INDEX search_entry_tsv_gin ON search_searchentry USING GIN (tsv)",
    # Inserts: one set-based INSERT per statement over its new rows.
    f"""CREATE FUNCTION search_cases_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_searchentry(case_id, source, source_id, body)
        SELECT n.id, 'case', n.id, {PG_CASE_BODY.format(c="n")} FROM new_rows n;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER search_case_ai AFTER INSERT ON cases_case REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_cases_inserted()",
    f"""CREATE FUNCTION search_case_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_searchentry SET body = {PG_CASE_BODY.format(c="NEW")}
        WHERE source = 'case' AND source_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER search_case_au AFTER UPDATE OF reference, summary, description, customer_id "
    "ON cases_case FOR EACH ROW WHEN (OLD.reference IS DISTINCT FROM NEW.reference "
    "OR OLD.summary IS DISTINCT FROM NEW.summary OR OLD.description IS DISTINCT FROM "
    "NEW.description OR OLD.customer_id IS DISTINCT FROM NEW.customer_id) "
    "EXECUTE FUNCTION search_case_changed()",
    f"""CREATE FUNCTION search_customer_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_searchentry e SET body = {PG_CASE_BODY.format(c="c")}
        FROM cases_case c WHERE e.source = 'case' AND e.source_id = c.id
        AND c.customer_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER search_customer_au AFTER UPDATE OF name ON customers_customer "
    "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) "
    "EXECUTE FUNCTION search_customer_renamed()",
    f"""CREATE FUNCTION search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_searchentry(case_id, source, source_id, body)
        SELECT n.case_id, 'message', n.id, concat_ws(' ', n.subject, n.body) FROM new_rows n
        WHERE n.case_id IS NOT NULL AND n.direction IN {SEARCHED_DIRECTIONS};
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER search_message_ai AFTER INSERT ON interactions_interaction "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION search_messages_inserted()",
    f"""CREATE FUNCTION search_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM search_searchentry WHERE source = 'message' AND source_id = OLD.id;
        IF TG_OP = 'UPDATE' AND NEW.case_id IS NOT NULL
           AND NEW.direction IN {SEARCHED_DIRECTIONS} THEN
            INSERT INTO search_searchentry(case_id, source, source_id, body)
            VALUES (NEW.case_id, 'message', NEW.id, concat_ws(' ', NEW.subject, NEW.body));
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER search_message_au AFTER UPDATE OF case_id, subject, body, direction "
    "ON interactions_interaction FOR EACH ROW EXECUTE FUNCTION search_message_changed()",
    "CREATE TRIGGER search_message_ad AFTER DELETE ON interactions_interaction "
    "FOR EACH ROW EXECUTE FUNCTION search_message_changed()",
]

PG_DOWN = [
    "DROP TRIGGER IF EXISTS search_case_ai ON cases_case",
    "DROP TRIGGER IF EXISTS search_case_au ON cases_case",
    "DROP TRIGGER IF EXISTS search_customer_au ON customers_customer",
    "DROP TRIGGER IF EXISTS search_message_ai ON interactions_interaction",
    "DROP TRIGGER IF EXISTS search_message_au ON interactions_interaction",
    "DROP TRIGGER IF EXISTS search_message_ad ON interactions_interaction",
    "DROP FUNCTION IF EXISTS search_cases_inserted()",
    "DROP FUNCTION IF EXISTS search_case_changed()",
    "DROP FUNCTION IF EXISTS search_customer_renamed()",
    "DROP FUNCTION IF EXISTS search_messages_inserted()",
    "DROP FUNCTION IF EXISTS search_message_changed()",
    "DROP INDEX IF EXISTS search_entry_tsv_gin",
    "ALTER TABLE search_searchentry DROP COLUMN IF EXISTS tsv",
]

BACKFILL_CASES = {
    "sqlite": "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    f"SELECT c.id, 'case', c.id, {SQLITE_CASE_BODY.format(c='c')} FROM cases_case c",
    "postgresql": "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    f"SELECT c.id, 'case', c.id, {PG_CASE_BODY.format(c='c')} FROM cases_case c",
}
BACKFILL_MESSAGES = {
    "sqlite": "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    "SELECT i.case_id, 'message', i.id, i.subject || ' ' || i.body "
    "FROM interactions_interaction i "
    f"WHERE i.case_id IS NOT NULL AND i.direction IN {SEARCHED_DIRECTIONS}",
    "postgresql": "INSERT INTO search_searchentry(case_id, source, source_id, body) "
    "SELECT i.case_id, 'message', i.id, concat_ws(' ', i.subject, i.body) "
    "FROM interactions_interaction i "
    f"WHERE i.case_id IS NOT NULL AND i.direction IN {SEARCHED_DIRECTIONS}",
}


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_UP, "postgresql": PG_UP}.get(vendor)
    if statements is None:
        return
    # Index what exists before the triggers see new rows.
    schema_editor.execute(BACKFILL_CASES[vendor])
    schema_editor.execute(BACKFILL_MESSAGES[vendor])
    if vendor == "postgresql":
        # The backfill's foreign-key checks are deferred to COMMIT, and
        # PostgreSQL refuses to alter a table with such checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for sql in statements:
        schema_editor.execute(sql)
    if vendor == "sqlite":
        schema_editor.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for sql in {"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}.get(vendor, []):
        schema_editor.execute(sql)
    schema_editor.execute("DELETE FROM search_searchentry")


class Migration(migrations.Migration):
    # After every migration of the tables the triggers sit on or read: on
    # SQLite a migration that remakes one of them (most field changes do) drops
    # its triggers, and cannot rename the new table while another table's
    # trigger names it. A later migration that remakes cases_case,
    # interactions_interaction or customers_customer must reinstall these
    # triggers (see CONTRIBUTING.md); test_search_triggers checks they exist.
    dependencies = [
        ("search", "0001_search_entry"),
        ("interactions", "0004_merge_discovery"),
        ("customers", "0001_initial"),
        ("cases", "0013_case_event_kinds_learning"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
