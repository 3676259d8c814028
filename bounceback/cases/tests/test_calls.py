"""Staff log a phone call from the case page (and the API), either way."""

from __future__ import annotations

import pytest

from bounceback.cases.models import Case
from bounceback.cases.services import case_log_call, case_wait_on_customer
from bounceback.errors import ValidationFailed
from bounceback.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def test_given_a_waiting_case_when_the_customer_calls_the_timers_resume(open_case, agent) -> None:  # type: ignore[no-untyped-def]
    case_wait_on_customer(case=open_case, actor=agent, reason="Asked for photos")

    case_log_call(
        case=open_case, actor=agent, direction="inbound", body="Sent the photos", minutes_long=4
    )

    open_case.refresh_from_db()
    assert open_case.status == Case.Status.NEW
    call = Interaction.objects.get(case=open_case, channel="phone")
    assert (call.direction, call.author_name, call.metadata) == (
        "inbound",
        "Chad Patterson",
        {"call_minutes": 4},
    )
    assert open_case.events.filter(kind="call_logged", summary="Chad Patterson called (4 min)")


def test_a_call_we_made_is_recorded_as_outbound_and_leaves_a_wait_alone(open_case, agent) -> None:  # type: ignore[no-untyped-def]
    case_wait_on_customer(case=open_case, actor=agent)

    case_log_call(
        case=open_case, actor=agent, direction="outbound", body="No answer, left a message"
    )

    open_case.refresh_from_db()
    assert open_case.status == Case.Status.WAITING
    assert Interaction.objects.get(case=open_case, channel="phone").direction == "outbound"
    assert open_case.events.filter(kind="call_logged", summary="Called Chad Patterson")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"minutes_long": -1}, "minutes_long"),
        ({"body": " "}, "body"),
    ],
)
def test_bad_calls_are_refused_with_the_field_and_nothing_is_stored(
    open_case, agent, changes, field
) -> None:  # type: ignore[no-untyped-def]
    call = {"direction": "inbound", "body": "Called about the car", **changes}

    with pytest.raises(ValidationFailed) as refused:
        case_log_call(case=open_case, actor=agent, **call)

    assert refused.value.field == field
    assert not Interaction.objects.filter(case=open_case).exists()


def test_the_case_page_logs_a_call(agent_client, open_case) -> None:  # type: ignore[no-untyped-def]
    page = agent_client.get(f"/cases/{open_case.pk}/")
    assert "Log a call" in page.content.decode()

    response = agent_client.post(
        f"/cases/{open_case.pk}/calls/",
        {"direction": "outbound", "body": "Explained the delay", "minutes_long": "3"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Call logged." in response.content.decode()
    assert "Called Chad Patterson (3 min)" in response.content.decode()


def test_the_api_logs_a_call_and_names_a_bad_field(make_token_client, open_case) -> None:  # type: ignore[no-untyped-def]
    api = make_token_client("cases:write")
    url = f"/api/cases/{open_case.pk}/calls"
    bad = api.post(
        url,
        {"direction": "inbound", "body": "x", "minutes_long": 9999},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "minutes_long"

    made = api.post(
        url, {"direction": "inbound", "body": "Rang to chase"}, content_type="application/json"
    )
    assert made.status_code == 200, made.content
    assert Interaction.objects.filter(case=open_case, channel="phone").count() == 1
