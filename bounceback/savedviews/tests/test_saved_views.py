"""Staff keep their own inbox views; the inbox API serves a view a page at a time."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from bounceback.cases.services import case_open
from bounceback.errors import Forbidden, ValidationFailed
from bounceback.savedviews.models import SavedView
from bounceback.savedviews.services import (
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
)
from bounceback.testing.factories import CustomerFactory, UserFactory


def test_a_view_keeps_only_what_differs_from_the_default(agent) -> None:  # type: ignore[no-untyped-def]
    view = saved_view_create(
        name=" Breached by SMS ",
        params={"view": "breached", "channel": "sms", "sort": "due", "status": ""},
        actor=agent,
    )

    assert view.name == "Breached by SMS"
    assert view.params == {"view": "breached", "channel": "sms"}
    assert view.url == "/cases/?view=breached&channel=sms"


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("", {}, "name"),
        ("Mine", {"colour": "red"}, "params"),
        ("Mine", {"status": "lost"}, "params.status"),
        ("Mine", {"view": "everything"}, "params.view"),
        ("Mine", {"assignee": "bob"}, "params.assignee"),
    ],
)
def test_bad_views_are_refused_by_field(agent, name, params, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        saved_view_create(name=name, params=params, actor=agent)
    assert refused.value.field == field
    assert not SavedView.objects.exists()


def test_names_are_per_person_and_any_case(agent) -> None:  # type: ignore[no-untyped-def]
    colleague = UserFactory()
    saved_view_create(name="North", params={}, actor=agent)
    saved_view_create(name="north", params={}, actor=colleague)

    with pytest.raises(ValidationFailed) as refused:
        saved_view_create(name="NORTH", params={}, actor=agent)
    assert refused.value.field == "name"


def test_only_the_owner_renames_or_deletes(agent) -> None:  # type: ignore[no-untyped-def]
    view = saved_view_create(name="Mine", params={}, actor=agent)
    colleague = UserFactory()

    with pytest.raises(Forbidden):
        saved_view_rename(view=view, name="Theirs", actor=colleague)
    with pytest.raises(Forbidden):
        saved_view_delete(view=view, actor=colleague)
    saved_view_rename(view=view, name="Still mine", actor=agent)
    assert SavedView.objects.get().name == "Still mine"
    saved_view_delete(view=view, actor=agent)
    assert not SavedView.objects.exists()


def test_saving_from_the_inbox_opens_the_saved_view(agent_client: Client, agent) -> None:  # type: ignore[no-untyped-def]
    response = agent_client.post(
        "/cases/views/",
        {"name": "Waiting, high", "params": "view=waiting&severity=high&after=abc"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/cases/?view=waiting&severity=high"
    page = agent_client.get(response["Location"])
    html = unescape(page.content.decode())
    assert "View “Waiting, high” saved." in html
    assert 'aria-current="page">Waiting, high</a>' in html
    view = SavedView.objects.get(owner=agent)
    assert agent_client.post(f"/cases/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_a_refused_save_says_why_and_keeps_the_view(agent_client: Client) -> None:
    response = agent_client.post("/cases/views/", {"name": "", "params": "view=all"}, follow=True)

    assert "Name is required" in unescape(response.content.decode())
    assert response.redirect_chain[-1][0] == "/cases/?view=all"


def test_nobody_deletes_another_persons_view(agent_client: Client) -> None:
    theirs = saved_view_create(name="Theirs", params={}, actor=UserFactory())

    assert agent_client.post(f"/cases/views/{theirs.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=theirs.pk).exists()


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def reader(agent):  # type: ignore[no-untyped-def]
    """A token the agent made: its views are the agent's."""
    from bounceback.apitokens.services import token_create
    from conftest import TokenClient

    _, plaintext = token_create(name="desk", scopes=["cases:read"], actor=agent)
    return TokenClient(plaintext)


def test_the_api_saves_lists_and_deletes_views(
    reader,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    made = reader.post(
        "/api/inbox/views",
        {"name": "Due soon", "params": {"view": "due_soon"}},
        content_type="application/json",
    )
    bad = reader.post(
        "/api/inbox/views",
        {"name": "X", "params": {"sort": "random"}},
        content_type="application/json",
    )
    with django_assert_max_num_queries(6):
        listed = reader.get("/api/inbox/views")

    assert made.status_code == 201
    assert made.json()["url"] == "/cases/?view=due_soon"
    assert bad.status_code == 422
    assert bad.json()["field"] == "params.sort"
    assert [v["name"] for v in listed.json()["items"]] == ["Due soon"]
    gone = reader.delete(f"/api/inbox/views/{made.json()['id']}")
    assert gone.status_code == 204
    assert reader.delete(f"/api/inbox/views/{made.json()['id']}").status_code == 404


def test_the_api_pages_through_an_inbox_view_in_constant_queries(
    reader,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
    agent,
) -> None:
    for i in range(5):
        case_open(customer=CustomerFactory(), summary=f"Case {i}", actor=agent)

    with django_assert_max_num_queries(6):
        first = reader.get("/api/inbox/cases", {"view": "all", "limit": 3}).json()
    with django_assert_max_num_queries(6):
        second = reader.get(
            "/api/inbox/cases", {"view": "all", "limit": 3, "after": first["next_after"]}
        ).json()
    refused = reader.get("/api/inbox/cases", {"view": "nope"})
    broken = reader.get("/api/inbox/cases", {"view": "all", "after": "zzz"})

    assert len(first["items"]) == 3
    assert len(second["items"]) == 2
    assert second["next_after"] is None
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 5
    assert first["counts"]["all"] == 5
    assert first["count_cap"] == 1000
    assert refused.status_code == 422
    assert refused.json()["field"] == "view"
    assert broken.json()["field"] == "after"
