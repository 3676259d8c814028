"""Duplicates: seen when a case repeats another, merged once, split back."""

from __future__ import annotations

import pytest

from bounceback.cases.models import Case, CaseEvent, CaseLink
from bounceback.learning.services import case_texts_refresh
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.learning_factories import past_case
from bounceback.timers.models import Timer

pytestmark = pytest.mark.django_db

FIRST = "The power went out in the hall during the concert and nobody told us anything"
AGAIN = "Power failed in the hall at the concert, lights out and no one said a word"


@pytest.fixture
def customer():  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Dana Lee")


@pytest.fixture
def pair(customer):  # type: ignore[no-untyped-def]
    first = past_case("Power cut at the concert", FIRST, customer=customer)
    other = past_case("Parcel late", "My parcel came three days late", customer=customer)
    second = past_case("Lights out at the show", AGAIN, customer=customer)
    case_texts_refresh()
    return first, second, other


def _timers(case: Case) -> list[str]:
    return list(Timer.objects.for_subject("case", case.pk).values_list("state", flat=True))


def test_an_open_case_of_the_same_customer_that_reads_alike_is_flagged(pair, make_token_client):
    first, second, other = pair
    client = make_token_client("cases:read")

    found = client.get(f"/api/cases/{second.pk}/duplicates").json()

    assert [d["case_id"] for d in found] == [first.pk]
    assert found[0]["reason"] == "same_customer"
    assert client.get(f"/api/cases/{other.pk}/duplicates").json() == []


def test_the_same_words_twice_are_flagged_whoever_sent_them(make_token_client):
    a = past_case("Refund", "I was charged twice for the same ticket, please refund me")
    b = past_case("Refund!", "I was charged twice for the same ticket, please refund me")
    b.summary = "Refund"
    Case.objects.filter(pk=b.pk).update(summary="Refund")
    case_texts_refresh()

    found = make_token_client("cases:read").get(f"/api/cases/{b.pk}/duplicates").json()

    assert [(d["case_id"], d["reason"]) for d in found] == [(a.pk, "same_text")]


def test_merge_joins_timelines_pauses_timers_tells_the_customer_once_and_splits_back(
    pair, make_token_client
):
    first, second, _ = pair
    client = make_token_client("cases:write")
    sent_before = OutboundMessage.objects.count()

    merged = client.post(
        f"/api/cases/{second.pk}/merge", {"into_case_id": first.pk}, content_type="application/json"
    )

    assert merged.status_code == 200 and merged.json()["id"] == first.pk
    second.refresh_from_db()
    assert second.status == Case.Status.CLOSED and second.merged_into_id == first.pk
    assert _timers(second) == [Timer.State.PAUSED]
    assert OutboundMessage.objects.count() == sent_before + 1
    assert CaseLink.objects.filter(from_case=second, to_case=first, kind="duplicate").exists()
    timeline = client.get(f"/api/cases/{first.pk}/timeline").json()
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("opened") == 2 and "merged_in" in kinds and "merged" in kinds
    assert client.get(f"/api/cases/{second.pk}/duplicates").json() == []

    split = client.post(f"/api/cases/{second.pk}/split")

    assert split.status_code == 200
    second.refresh_from_db()
    assert second.status == Case.Status.NEW and second.merged_into_id is None
    assert _timers(second) == [Timer.State.RUNNING]
    assert OutboundMessage.objects.count() == sent_before + 1


def test_bad_merges_are_refused_and_change_nothing(pair, make_token_client):
    first, second, _ = pair
    stranger = past_case("Power cut", FIRST)
    client = make_token_client("cases:write")

    def merge(case: Case, into: int):  # type: ignore[no-untyped-def]
        return client.post(
            f"/api/cases/{case.pk}/merge", {"into_case_id": into}, content_type="application/json"
        )

    itself = merge(second, second.pk)
    assert itself.status_code == 422 and itself.json()["field"] == "into_case_id"
    across = merge(second, stranger.pk)
    assert across.status_code == 422 and across.json()["field"] == "into_case_id"
    missing = merge(second, 999999)
    assert missing.status_code == 404 and missing.json()["field"] == "into_case_id"
    assert client.post(f"/api/cases/{second.pk}/split").status_code == 409
    Case.objects.filter(pk=first.pk).update(status=Case.Status.CLOSED)
    closed = merge(second, first.pk)
    assert closed.status_code == 409
    second.refresh_from_db()
    assert second.status == Case.Status.NEW and second.merged_into_id is None
    assert not CaseEvent.objects.filter(kind="merged").exists()


def test_duplicates_endpoint_query_count(pair, make_token_client, django_assert_max_num_queries):
    _, second, _ = pair
    client = make_token_client("cases:read")
    client.get(f"/api/cases/{second.pk}/duplicates")
    with django_assert_max_num_queries(10):
        assert len(client.get(f"/api/cases/{second.pk}/duplicates").json()) == 1


def test_the_case_page_warns_of_a_duplicate_and_merges_it(pair, agent_client):
    first, second, _ = pair
    page = agent_client.get(f"/cases/{second.pk}/duplicates/").content.decode()
    assert "This looks like a duplicate" in page and f'data-duplicate="{first.pk}"' in page

    answer = agent_client.post(
        f"/cases/{second.pk}/merge/", {"into": first.pk, "tell_customer": "on"}
    )
    assert answer.status_code == 302
    assert Case.objects.get(pk=second.pk).merged_into_id == first.pk
