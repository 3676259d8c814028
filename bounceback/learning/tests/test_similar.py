"""Similar past cases: what was done and how it ended, for the case in hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bounceback.learning.models import CaseText
from bounceback.learning.services import case_texts_refresh
from bounceback.testing.learning_factories import past_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():  # type: ignore[no-untyped-def]
    power = past_case(
        "Power cut during the concert",
        "The lights went out in the hall halfway through the show and nobody told us anything.",
        fix="Tickets for the rerun next week",
        satisfied=True,
        will_return=True,
        comment="Great rerun",
        gesture=Decimal("40.00"),
    )
    delivery = past_case(
        "Parcel delivered three days late",
        "My delivery was late because the depot van never came down the valley road.",
        fix="Courier sent the next morning",
        satisfied=False,
        will_return=False,
    )
    car = past_case(
        "Car not ready at the body shop",
        "The technician was off sick and my car was not repaired when promised.",
        fix="Loan car for two days",
        satisfied=True,
        will_return=None,
    )
    case_texts_refresh()
    return {"power": power, "delivery": delivery, "car": car}


def test_a_new_case_finds_the_past_case_about_the_same_failure(history, make_token_client):
    # Given three past cases, and a new complaint about a power failure in the hall
    new = past_case(
        "Blackout at the show", "The power failed in the hall during the concert, lights out."
    )
    client = make_token_client("cases:read")

    # When the agent asks what worked before
    answer = client.get(f"/api/cases/{new.pk}/similar")

    # Then the power cut comes first, with its fix, gesture and happy ending
    assert answer.status_code == 200
    rows = answer.json()
    assert rows[0]["case_id"] == history["power"].pk
    assert new.pk not in [r["case_id"] for r in rows]
    first = rows[0]
    assert first["fix"] == "Tickets for the rerun next week"
    assert [(g["kind"], g["value"]) for g in first["gestures"]] == [("refund", "40.00")]
    assert first["satisfied"] is True
    assert first["outcome"] == "satisfied, will come back"
    assert len(rows) == 3


def test_vectors_are_made_once_for_new_cases_and_again_for_none(history):
    # Given every case already has its vector
    assert CaseText.objects.count() == 3

    # When the clock runs again with nothing new, then a new case arrives
    assert case_texts_refresh() == 0
    past_case("Late parcel", "Delivery came late")

    # Then only the new case is vectorised
    assert case_texts_refresh() == 1
    assert CaseText.objects.count() == 4


def test_similar_needs_the_read_scope_and_an_existing_case(history, make_token_client):
    case = history["car"]
    assert (
        make_token_client("customers:read").get(f"/api/cases/{case.pk}/similar").status_code == 403
    )
    missing = make_token_client("cases:read").get("/api/cases/999999/similar")
    assert missing.status_code == 404


def test_similar_list_query_count(history, make_token_client, django_assert_max_num_queries):
    client = make_token_client("cases:read")
    for i in range(6):
        past_case(f"Late parcel number {i}", "My delivery came late again", gesture=Decimal("5"))
    case_texts_refresh()
    client.get(f"/api/cases/{history['delivery'].pk}/similar")  # warm the index
    with django_assert_max_num_queries(8):
        answer = client.get(f"/api/cases/{history['delivery'].pk}/similar")
    assert len(answer.json()) == 5


def test_case_page_panel_shows_outcomes(history, agent_client):
    new = past_case("The van was late", "Delivery late, the valley road was closed")
    page = agent_client.get(f"/cases/{new.pk}/similar/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "What worked before" in body
    assert "Courier sent the next morning" in body
    assert "unhappy, will not come back" in body
