"""`bounceback import interactions`: past conversations, so first response times cover history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from bounceback.dashboards.models import Conversation
from bounceback.dashboards.services import conversations_refresh
from bounceback.interactions.models import Interaction
from bounceback.testing.factories import CustomerFactory, UserFactory

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db

CONVERSATIONS = """
    Message ID,From,Direction,Sent,Text,In reply to,Email
    m1,Ann,customer,2026-03-02 09:00,My order never came,,ann@example.com
    m2,ava,agent,2026-03-02 09:25,So sorry Ann: it leaves today,m1,ann@example.com
    m3,Ann,customer,2026-03-02 10:00,Thanks,m2,ann@example.com
    m4,Bob,customer,2026-03-03 08:00,Cold pizza,,bob@example.com
    m5,ava,agent,2026-03-03 08:00,Sorry,m99,bob@example.com
    m6,Bob,sideways,2026-03-03 08:30,Hello?,m4,bob@example.com
"""
MAP = ["--map", "Message ID=external_id", "Direction=direction", "Sent=occurred_at"]


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import", "interactions", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_replies_join_the_conversation_they_answer(write_csv: WriteCsv) -> None:
    ann = CustomerFactory(name="Ann", email="ann@example.com")
    ava = UserFactory(username="ava")
    path = write_csv(CONVERSATIONS)

    out = run_import(str(path), *MAP, "--source", "helpdesk")
    conversations_refresh()

    reply = Interaction.objects.get(source="helpdesk", external_id="m2")
    assert "created           4" in out
    assert "rejected          2" in out
    assert reply.customer == ann
    assert reply.author == ava
    assert reply.direction == Interaction.Direction.OUTBOUND
    assert reply.thread_ref == Interaction.objects.get(external_id="m1").thread_ref
    assert Conversation.objects.get(key=f"thread:{reply.thread_ref}").response_seconds == 25 * 60


def test_rejected_rows_say_where_and_why_and_a_rerun_changes_nothing(write_csv: WriteCsv) -> None:
    CustomerFactory(name="Ann", email="ann@example.com")
    path = write_csv(CONVERSATIONS)
    report = path.with_name("rejected.csv")

    first = run_import(str(path), *MAP, "--report", str(report))
    again = run_import(str(path), *MAP)

    assert "line 6" in first and "reply_to 'm99'" in first
    assert "line 7" in first and "direction 'sideways'" in first
    assert "m99" in report.read_text()
    assert "unchanged         4" in again
    assert Interaction.objects.filter(source="csv").count() == 4


def test_a_file_without_the_messages_text_is_refused_whole(write_csv: WriteCsv) -> None:
    path = write_csv("id,direction,date,email\nm1,in,2026-01-01,a@example.com\n")

    with pytest.raises(Exception, match="no column for body"):
        run_import(str(path))
    assert not Interaction.objects.exists()


def test_a_reply_that_names_no_customer_joins_the_conversations_customer(
    write_csv: WriteCsv,
) -> None:
    path = write_csv(
        """
        id,direction,date,text,in_reply_to,name,email
        c1,customer,2026-04-01 10:00,Where is my table?,,Dana Ruiz,dana@example.com
        c2,agent,2026-04-01 10:05,On its way,c1,,
        """
    )

    run_import(str(path))

    first, reply = Interaction.objects.order_by("occurred_at")
    assert reply.customer == first.customer
    assert first.customer.name == "Dana Ruiz"
    assert Interaction.objects.values("customer").distinct().count() == 1
