"""The staff views' one write path (`perform`) and how a refusal shows on a form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from bounceback.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from bounceback.web.actions import perform
from bounceback.web.forms import add_banner, add_refusal, add_service_error


class ReasonForm(forms.Form):
    reason = forms.CharField()


class ScopeForm(forms.Form):
    kinds = forms.CharField(required=False)
    attributes = forms.CharField(required=False)


def _post(data: dict[str, str] | None = None) -> HttpRequest:
    request = RequestFactory().post("/somewhere/", data or {})
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    return request


def _flashed(request: HttpRequest) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(request)]


def _page() -> HttpResponse:
    return HttpResponse("the page again", status=422)


def _refused(error: ServiceError) -> Any:
    def call(*_: Any) -> Any:
        raise error

    return call


# --- With a form -------------------------------------------------------------------------------


def test_a_valid_form_calls_the_service_with_its_data_then_flashes_and_redirects() -> None:
    request = _post({"reason": "double booked"})
    form = ReasonForm(request.POST)
    seen: list[dict[str, Any]] = []

    response = perform(
        request,
        lambda data: seen.append(data) or 7,
        form=form,
        page=_page,
        success=lambda n: f"Saved {n}.",
        redirect_to=lambda n: f"/things/{n}/",
    )

    assert seen == [{"reason": "double booked"}]
    assert response.status_code == 302
    assert response["Location"] == "/things/7/"
    assert _flashed(request) == [("success", "Saved 7.")]


def test_an_invalid_form_shows_the_page_without_calling_the_service() -> None:
    request = _post({})
    form = ReasonForm(request.POST)

    response = perform(
        request,
        _refused(AssertionError("the service must not run")),  # type: ignore[arg-type]
        form=form,
        page=_page,
        success="Saved.",
        redirect_to="/things/",
    )

    assert response.status_code == 422
    assert "reason" in form.errors
    assert _flashed(request) == []


def test_an_unbound_form_on_a_get_shows_the_page() -> None:
    request = RequestFactory().get("/somewhere/")

    response = perform(
        request,
        _refused(AssertionError("the service must not run")),  # type: ignore[arg-type]
        form=ReasonForm(None),
        page=lambda: HttpResponse("blank form"),
        success="Saved.",
        redirect_to="/things/",
    )

    assert response.status_code == 200
    assert response.content == b"blank form"


def test_a_refusal_is_bound_to_the_form_and_the_page_shows_it() -> None:
    request = _post({"reason": "x"})
    form = ReasonForm(request.POST)

    response = perform(
        request,
        _refused(ValidationFailed("reason is too short", field="reason")),
        form=form,
        page=_page,
        success="Saved.",
        redirect_to="/things/",
    )

    assert response.status_code == 422
    assert form.errors["reason"] == ["reason is too short"]
    assert _flashed(request) == []


def test_the_view_chooses_how_a_refusal_is_bound() -> None:
    request = _post({"reason": "x"})
    form = ReasonForm(request.POST)

    perform(
        request,
        _refused(Conflict("the case is closed", field="status")),
        form=form,
        refuse=add_refusal,
        page=_page,
        success="Saved.",
        redirect_to="/things/",
    )

    assert form.non_field_errors() == ["The case is closed."]


# --- A button (no form) ------------------------------------------------------------------------


def test_a_button_flashes_success_and_redirects() -> None:
    request = _post()

    response = perform(request, lambda: None, success="Sent again.", redirect_to="/deliveries/")

    assert response["Location"] == "/deliveries/"
    assert _flashed(request) == [("success", "Sent again.")]


def test_a_refused_button_flashes_the_reason_and_redirects_to_the_same_place() -> None:
    request = _post()

    response = perform(
        request,
        _refused(Conflict("the subscription is already disabled")),
        success="Disabled.",
        redirect_to="/subscriptions/1/",
    )

    assert response["Location"] == "/subscriptions/1/"
    assert _flashed(request) == [("error", "the subscription is already disabled")]


def test_a_refused_button_can_flash_the_reason_as_a_sentence() -> None:
    request = _post()

    perform(
        request,
        _refused(Conflict("this delivery is still being tried")),
        sentence=True,
        success="Sent again.",
        redirect_to="/deliveries/",
    )

    assert _flashed(request) == [("error", "This delivery is still being tried.")]


def test_redirect_to_may_name_a_url_pattern() -> None:
    request = _post()

    response = perform(request, lambda: None, success="Done.", redirect_to="home")

    assert response["Location"] == "/"


# --- Binding a refusal to a form -----------------------------------------------------------------


def test_a_service_error_goes_on_the_field_it_names_or_over_the_form() -> None:
    form = ReasonForm({"reason": "x"})
    form.is_valid()

    add_service_error(form, ValidationFailed("reason is required", field="reason"))
    add_service_error(form, ValidationFailed("no such thing", field="thing_id"))

    assert form.errors["reason"] == ["reason is required"]
    assert form.non_field_errors() == ["no such thing"]


def test_a_field_map_translates_dotted_service_fields_longest_first() -> None:
    form = ScopeForm({})
    form.is_valid()
    field_map = {"filter.kind": "kinds", "filter": "attributes", "customer_ids": None}

    add_service_error(form, ValidationFailed("bad kind", field="filter.kind"), field_map=field_map)
    add_service_error(form, ValidationFailed("bad key", field="filter.colour"), field_map=field_map)
    add_service_error(
        form, ValidationFailed("no customer", field="customer_ids"), field_map=field_map
    )
    add_service_error(form, ValidationFailed("bad third kind", field="kinds[2]"))

    assert form.errors["kinds"] == ["bad kind", "bad third kind"]
    assert form.errors["attributes"] == ["bad key"]
    assert form.non_field_errors() == ["no customer"]


def test_a_field_map_target_the_form_lacks_goes_over_the_form() -> None:
    form = ReasonForm({"reason": "x"})
    form.is_valid()

    add_service_error(form, ValidationFailed("bad kind", field="kind"), field_map={"kind": "kinds"})

    assert form.non_field_errors() == ["bad kind"]


def test_sentence_shows_the_message_as_a_sentence() -> None:
    form = ReasonForm({"reason": "x"})
    form.is_valid()

    add_service_error(form, ValidationFailed("reason is required", field="reason"), sentence=True)

    assert form.errors["reason"] == ["Reason is required."]


def test_a_refusal_puts_values_on_fields_and_everything_else_over_the_form() -> None:
    form = ReasonForm({"reason": "x"})
    form.is_valid()

    add_refusal(form, ValidationFailed("reason is required", field="reason"))
    add_refusal(form, Conflict("the case is closed", field="reason"))
    add_refusal(form, Forbidden("your role may not do this"))

    assert form.errors["reason"] == ["reason is required"]
    assert form.non_field_errors() == ["The case is closed.", "Your role may not do this."]


def test_a_banner_goes_over_the_form_whatever_field_it_names() -> None:
    form = ReasonForm({"reason": "x"})
    form.is_valid()

    add_banner(form, ValidationFailed("reason is required", field="reason"))

    assert form.non_field_errors() == ["Reason is required."]
    assert "reason" not in form.errors
