"""One search box: references, customers' emails and phones, words in cases, messages and notes."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from bounceback.accounts.models import User
from bounceback.cases.models import Case
from bounceback.cases.services import case_log_customer_message, case_open, case_send_update
from bounceback.customers.models import Customer
from bounceback.errors import ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.search.models import SearchEntry
from bounceback.search.selectors import Snippet, case_search
from bounceback.testing.factories import CustomerFactory


@pytest.fixture
def dana(db: None) -> Customer:
    return CustomerFactory(name="Dana Okafor", email="dana@example.com", phone="+447700900123")


@pytest.fixture
def boiler(dana, agent) -> Case:  # type: ignore[no-untyped-def]
    return case_open(
        customer=dana,
        summary="Boiler engineer never arrived",
        description="We waited all day in a cold house.",
        actor=agent,
    )


def _found(query: str) -> list[int]:
    return [hit.case.pk for hit in case_search(query=query)]


def test_a_reference_finds_its_case_however_it_is_typed(boiler: Case) -> None:
    number = int((boiler.reference or "").split("-")[1])

    for typed in (boiler.reference, (boiler.reference or "").lower(), f"bb{number}", str(number)):
        hits = case_search(query=typed or "")
        assert hits[0].case.pk == boiler.pk, typed
        assert hits[0].matched == "reference"


def test_customer_name_email_and_phone_find_their_cases(boiler: Case, agent) -> None:  # type: ignore[no-untyped-def]
    other = case_open(customer=CustomerFactory(name="Sam Reyes"), summary="Late", actor=agent)

    assert _found("Okafor") == [boiler.pk]
    assert _found("DANA@example.com") == [boiler.pk]
    assert _found("+44 7700 900123") == [boiler.pk]
    assert _found("Reyes") == [other.pk]


def test_words_in_the_summary_and_the_customers_messages_are_found_with_highlights(
    boiler: Case,
    agent,  # type: ignore[no-untyped-def]
) -> None:
    case_log_customer_message(
        case=boiler, actor=agent, body="Still no refund for the wasted day off work."
    )

    by_summary = case_search(query="engineer arrived")
    by_message = case_search(query="refu")  # the start of a word is enough

    assert [h.case.pk for h in by_summary] == [boiler.pk]
    snippet = by_summary[0].snippet
    assert [snippet.text[a:b].lower() for a, b in snippet.marks] == ["engineer", "arrived"]
    assert [h.case.pk for h in by_message] == [boiler.pk]
    assert by_message[0].matched == "message"
    hit = by_message[0].snippet
    assert [hit.text[a:b] for a, b in hit.marks] == ["refund"]


def test_our_own_outgoing_messages_are_not_searched(boiler: Case, agent) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_apologise
    from bounceback.cases.tests.conftest import SINCERE

    case_apologise(case=boiler, actor=agent, body=SINCERE)
    case_send_update(case=Case.objects.get(pk=boiler.pk), actor=agent, body="Technician xylophone")

    assert _found("xylophone") == []


def test_renaming_the_customer_and_editing_the_case_keep_the_index_true(
    boiler: Case,
    dana: Customer,  # type: ignore[no-untyped-def]
) -> None:
    Customer.objects.filter(pk=dana.pk).update(name="Dana Whitfield")
    Case.objects.filter(pk=boiler.pk).update(summary="Radiator leaking")

    assert _found("Whitfield") == [boiler.pk]
    assert _found("Okafor") == []
    assert _found("radiator") == [boiler.pk]
    assert _found("boiler") == []


def test_moving_or_deleting_a_message_moves_it_in_the_index(boiler: Case, agent, dana) -> None:  # type: ignore[no-untyped-def]
    case_log_customer_message(case=boiler, actor=agent, body="My neighbour saw the van leave")
    other = case_open(customer=dana, summary="Second visit", actor=agent)
    message = Interaction.objects.get(body__contains="neighbour")

    Interaction.objects.filter(pk=message.pk).update(case=other)
    assert _found("neighbour") == [other.pk]
    Interaction.objects.filter(pk=message.pk).delete()
    assert _found("neighbour") == []
    assert not SearchEntry.objects.filter(source="message", source_id=message.pk).exists()


def test_search_syntax_in_a_customers_words_is_just_words(boiler: Case) -> None:
    for odd in ('"boiler', "boiler AND NOT", "boiler*", "(boiler) OR -x", "NEAR(boiler)", ":*&|!"):
        hits = case_search(query=odd)
        assert all(h.case.pk == boiler.pk for h in hits), odd


def test_snippets_escape_the_text_and_mark_the_words(agent) -> None:  # type: ignore[no-untyped-def]
    from django.template import Context, Template

    snippet = Snippet.from_marked("a <b>bold</b> \x02claim\x03 here")
    html = Template("{% load search_ui %}{{ s|highlighted }}").render(Context({"s": snippet}))

    assert snippet.text == "a <b>bold</b> claim here"
    assert html == "a &lt;b&gt;bold&lt;/b&gt; <mark>claim</mark> here"


def test_the_search_page_lists_hits_and_opens_a_reference_directly(
    agent_client: Client,
    boiler: Case,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with django_assert_max_num_queries(10):
        page = agent_client.get("/search/", {"q": "cold house"})
    opened = agent_client.get("/search/", {"q": boiler.reference})
    nothing = agent_client.get("/search/", {"q": "zebra"})

    html = unescape(page.content.decode())
    assert page.status_code == 200
    assert "<mark>cold</mark> <mark>house</mark>" in html
    assert boiler.summary in html
    assert opened.status_code == 302
    assert opened["Location"] == f"/cases/{boiler.pk}/"
    assert "No case matches “zebra”" in unescape(nothing.content.decode())


def test_the_top_bar_has_the_search_box(agent_client: Client) -> None:
    html = agent_client.get("/cases/").content.decode()
    assert 'role="search"' in html
    assert 'name="q"' in html


def test_search_needs_sign_in_and_the_cases_permission(client: Client) -> None:
    assert client.get("/search/", {"q": "x"}).status_code == 302


def test_the_api_answers_hits_with_their_marks(
    make_token_client,
    boiler: Case,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    api = make_token_client("cases:read")

    with django_assert_max_num_queries(8):
        response = api.get("/api/search/cases", {"q": "engineer"})
    body = response.json()

    assert response.status_code == 200
    item = body["items"][0]
    assert item["id"] == boiler.pk
    assert item["reference"] == boiler.reference
    assert item["matched"] == "case"
    a, b = item["snippet"]["marks"][0]
    assert item["snippet"]["text"][a:b].lower() == "engineer"


def test_the_api_refuses_an_empty_search_and_a_missing_scope(make_token_client, db) -> None:  # type: ignore[no-untyped-def]
    api = make_token_client("cases:read")
    other = make_token_client("customers:read")

    empty = api.get("/api/search/cases", {"q": "  "})
    big = api.get("/api/search/cases", {"q": "x", "limit": 500})
    refused = other.get("/api/search/cases", {"q": "x"})

    assert empty.status_code == 422
    assert empty.json()["field"] == "q"
    assert big.json()["field"] == "limit"
    assert refused.status_code == 403


def test_another_apps_notes_are_found_once_indexed_and_gone_once_removed(boiler: Case) -> None:
    from bounceback.search.services import search_entry_remove, search_entry_set

    search_entry_set(case_id=boiler.pk, source="note", source_id=7, body="Ask @priya about parts")
    found = case_search(query="priya")
    search_entry_set(case_id=boiler.pk, source="note", source_id=7, body="Parts ordered")
    renamed = _found("priya")
    search_entry_remove(source="note", source_id=7)

    assert [h.case.pk for h in found] == [boiler.pk]
    assert found[0].matched == "note"
    assert renamed == []
    assert _found("ordered") == []
    with pytest.raises(ValidationFailed):
        search_entry_set(case_id=boiler.pk, source="case", source_id=boiler.pk, body="x")


def test_internal_notes_are_found(boiler: Case, agent) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_note_add

    case_note_add(case=boiler, actor=agent, body="Engineer's van broke down on the ring road")

    hits = case_search(query="ring road")
    assert [h.case.pk for h in hits] == [boiler.pk]
    assert hits[0].matched == "note"


def test_cases_opened_by_outreach_are_found_by_the_words_of_their_summary(
    dana: Customer, agent: User
) -> None:
    from django.utils import timezone

    from bounceback.breakdowns.outreach import _fill
    from bounceback.cases.bulk import ProactiveContact, ProactiveOutreach, cases_open_proactive
    from bounceback.testing.breakdowns_factories import make_breakdown
    from bounceback.testing.factories import SiteFactory

    # Given a breakdown's outreach that opened cases for two customers in one go
    breakdown = make_breakdown(actor=agent, site=SiteFactory())
    sam = CustomerFactory(name="Sam Reyes", email="sam@example.com")
    opened = cases_open_proactive(
        outreach=ProactiveOutreach(
            breakdown_id=breakdown.pk,
            breakdown_reference=breakdown.reference or "",
            title="Floodlights failed at the stadium",
            failure_mode_id=None,
            severity="high",
            site_id=breakdown.site_id,
            apology_score=None,
            batch="bd-test",
        ),
        contacts=[
            ProactiveContact(
                customer_id=c.pk,
                customer_name=c.name,
                transaction_id=None,
                channel="email",
                address=c.primary_email,
                subject_template="Sorry",
                body_template="Sorry about the lights.",
            )
            for c in (dana, sam)
        ],
        fill=_fill,
        actor=agent,
        now=timezone.now(),
    )
    ids = sorted(o.case_id for o in opened)

    # When the desk searches the words of the summary (the last one a prefix)
    by_words = _found("floodlights stadi")

    # Then both cases are found, as they are by reference, customer name and email
    assert sorted(by_words) == ids
    hit = case_search(query="floodlights")[0]
    assert hit.matched == "case"
    assert [hit.snippet.text[a:b].lower() for a, b in hit.snippet.marks] == ["floodlights"]
    assert _found("Reyes") == [opened[1].case_id]
    assert opened[0].case_id in _found("dana@example.com")
    reference = Case.objects.get(pk=opened[0].case_id).reference or ""
    assert _found(reference) == [opened[0].case_id]
