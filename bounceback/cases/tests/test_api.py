from __future__ import annotations

import pytest

from bounceback.cases.models import Case
from bounceback.testing.factories import CustomerFactory

from .conftest import SINCERE

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("cases:write", "customers:read")


def _post(client, url: str, body: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, body or {}, content_type="application/json", **headers)


def test_open_a_case_and_walk_it_to_closed(cases_api, settings) -> None:
    customer = CustomerFactory(name="Chad Patterson", email="chad@example.com")

    opened = _post(
        cases_api,
        "/api/cases/",
        {
            "customer_id": customer.pk,
            "summary": "Car not ready: technician called in sick",
            "severity": "high",
            "site": None,
        },
    )
    assert opened.status_code == 201
    case = opened.json()
    url = f"/api/cases/{case['id']}"
    assert case["status"] == "new"
    assert [t["kind"] for t in case["timers"]] == ["apologise"]
    assert case["timers"][0]["seconds_left"] > 0

    cliche = _post(cases_api, f"{url}/apologise", {"body": "Sorry for any inconvenience."})
    assert cliche.status_code == 422
    assert cliche.json()["code"] == "apology_below_threshold"

    steps = [
        ("apologise", {"body": SINCERE}),
        (
            "review",
            {"what_went_wrong": "No call", "proposed_fix": "Lend a car", "proposal_accepted": True},
        ),
        ("updates", {"body": "The car is on the lift."}),
        ("fix", {"fix_summary": "Repaired"}),
        ("follow-up", {"body": "All well?", "early_reason": "Customer asked"}),
        ("follow-up/outcome", {"satisfied": True, "will_return": True}),
        (
            "document",
            {"root_cause": "No cover", "what_was_done": "Fixed", "prevention_idea": "Rota"},
        ),
        ("close", {}),
    ]
    statuses = []
    for name, body in steps:
        response = _post(cases_api, f"{url}/{name}", body)
        assert response.status_code == 200, (name, response.json())
        statuses.append(response.json()["status"])

    assert statuses == [
        "apologised",
        "fixing",
        "fixing",
        "fixed",
        "following_up",
        "following_up",
        "following_up",
        "closed",
    ]
    timeline = cases_api.get(f"{url}/timeline").json()
    assert timeline[1]["kind"] == "apologised"
    assert timeline[1]["message"] == SINCERE


def test_refused_transitions_are_409_with_the_reason(cases_api) -> None:
    customer = CustomerFactory()
    case = _post(cases_api, "/api/cases/", {"customer_id": customer.pk, "summary": "Late"}).json()

    fixed_early = _post(cases_api, f"/api/cases/{case['id']}/fix", {"fix_summary": "x"})
    closed_early = _post(cases_api, f"/api/cases/{case['id']}/close")

    assert fixed_early.status_code == 409
    assert fixed_early.json()["code"] == "invalid_transition"
    assert "apologise" in fixed_early.json()["message"]
    assert closed_early.status_code == 409


def test_unknown_references_are_404_naming_the_field(cases_api) -> None:
    customer = CustomerFactory()

    response = _post(
        cases_api,
        "/api/cases/",
        {"customer_id": customer.pk, "summary": "x", "assignee_id": 98765},
    )

    assert response.status_code == 404
    assert response.json()["field"] == "assignee_id"
    assert Case.objects.count() == 0


def test_opening_is_idempotent_with_a_key(cases_api) -> None:
    customer = CustomerFactory()
    body = {"customer_id": customer.pk, "summary": "Parcel delayed by flood"}

    first = _post(cases_api, "/api/cases/", body, HTTP_IDEMPOTENCY_KEY="flood-1")
    again = _post(cases_api, "/api/cases/", body, HTTP_IDEMPOTENCY_KEY="flood-1")

    assert first.json()["id"] == again.json()["id"]
    assert Case.objects.count() == 1


def test_wait_and_resume_show_paused_timers(cases_api) -> None:
    customer = CustomerFactory()
    case = _post(cases_api, "/api/cases/", {"customer_id": customer.pk, "summary": "x"}).json()

    waiting = _post(cases_api, f"/api/cases/{case['id']}/wait", {"reason": "Asked for photos"})
    resumed = _post(cases_api, f"/api/cases/{case['id']}/resume")

    assert waiting.json()["status"] == "waiting"
    assert waiting.json()["timers"][0]["paused"] is True
    assert resumed.json()["timers"][0]["state"] == "running"


def test_list_filters_and_query_count(cases_api, django_assert_max_num_queries) -> None:
    for i in range(12):
        customer = CustomerFactory()
        _post(
            cases_api,
            "/api/cases/",
            {
                "customer_id": customer.pk,
                "summary": f"Case {i}",
                "severity": "high" if i % 3 else "low",
            },
        )

    with django_assert_max_num_queries(5):
        response = cases_api.get("/api/cases/?severity=high&limit=50")

    assert len(response.json()["items"]) == 8


def test_the_coach_endpoint_explains_the_score(cases_api) -> None:
    response = _post(cases_api, "/api/coach/score", {"text": "We apologise for any inconvenience."})

    body = response.json()
    assert response.status_code == 200
    assert body["passed"] is False
    assert "any_inconvenience" in {f["code"] for f in body["findings"]}


def test_the_coach_endpoint_names_each_sentence_and_suggests_a_rewrite(cases_api) -> None:
    from bounceback.coach.scoring import coach_score

    text = "Sorry if the show ran late. We were very busy that night."
    body = _post(cases_api, "/api/coach/score", {"text": text}).json()

    assert (body["scored"], body["language"], body["passed"]) == (True, "en", False)
    conditional = next(f for f in body["findings"] if f["code"] == "conditional")
    assert conditional["sentence"] == "Sorry if the show ran late."
    assert conditional["excerpt"].lower() == "sorry if"
    assert body["rewrite"]
    assert coach_score(text=body["rewrite"]).passed


def test_the_coach_endpoint_marks_a_language_it_does_not_read(cases_api) -> None:
    body = _post(
        cases_api, "/api/coach/score", {"text": "Nous sommes désolés pour le retard du concert."}
    ).json()

    assert (body["scored"], body["score"], body["passed"]) == (False, None, True)
    assert body["language"] == "fr"
    assert [f["code"] for f in body["findings"]] == ["not_scored"]


def test_reading_needs_the_cases_scope(make_token_client) -> None:
    outsider = make_token_client("customers:read")

    assert outsider.get("/api/cases/").status_code == 403


# --- The failure-mode link -------------------------------------------------------------------


def test_given_an_accepted_failure_mode_when_opening_a_case_then_the_case_names_it(
    cases_api,
) -> None:
    from bounceback.testing.failuremodes_factories import FailureModeFactory

    mode = FailureModeFactory(title="Power outage during an event")
    customer = CustomerFactory()

    opened = _post(
        cases_api,
        "/api/cases/",
        {"customer_id": customer.pk, "summary": "Lights out", "failure_mode_id": mode.pk},
    )

    assert opened.status_code == 201
    body = opened.json()
    assert (body["failure_mode_id"], body["failure_mode"]) == (
        mode.pk,
        "Power outage during an event",
    )
    listed = cases_api.get("/api/cases/", {"failure_mode_id": mode.pk}).json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]


def test_given_a_proposed_failure_mode_when_opening_a_case_with_it_then_422_and_no_case(
    cases_api,
) -> None:
    from bounceback.failuremodes.models import FailureMode
    from bounceback.testing.failuremodes_factories import FailureModeFactory

    proposed = FailureModeFactory(status=FailureMode.Status.PROPOSED, title="Cold hall")

    refused = _post(
        cases_api,
        "/api/cases/",
        {
            "customer_id": CustomerFactory().pk,
            "summary": "Freezing",
            "failure_mode_id": proposed.pk,
        },
    )

    assert refused.status_code == 422
    assert refused.json()["field"] == "failure_mode_id"
    assert "accepted failure mode" in refused.json()["message"]
    assert not Case.objects.exists()
    missing = _post(
        cases_api,
        "/api/cases/",
        {"customer_id": CustomerFactory().pk, "summary": "Freezing", "failure_mode_id": 999999},
    )
    assert (missing.status_code, missing.json()["field"]) == (404, "failure_mode_id")


def test_given_a_case_when_patching_its_failure_mode_then_it_changes_and_null_clears_it(
    cases_api,
) -> None:
    from bounceback.failuremodes.models import FailureMode
    from bounceback.testing.failuremodes_factories import FailureModeFactory

    mode = FailureModeFactory(title="Technician off sick")
    rejected = FailureModeFactory(status=FailureMode.Status.REJECTED)
    case = _post(
        cases_api, "/api/cases/", {"customer_id": CustomerFactory().pk, "summary": "Car not ready"}
    ).json()
    url = f"/api/cases/{case['id']}"
    assert case["failure_mode"] is None

    set_ = cases_api.patch(url, {"failure_mode_id": mode.pk}, content_type="application/json")
    assert set_.status_code == 200
    assert set_.json()["failure_mode"] == "Technician off sick"

    refused = cases_api.patch(
        url, {"failure_mode_id": rejected.pk}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "failure_mode_id")

    cleared = cases_api.patch(url, {"failure_mode_id": None}, content_type="application/json")
    assert cleared.json()["failure_mode_id"] is None
    timeline = cases_api.get(f"{url}/timeline").json()
    assert [e["data"].get("failure_mode") for e in timeline if e["kind"] == "updated"] == [
        [None, "Technician off sick"],
        ["Technician off sick", None],
    ]
