"""Public pages: the report form, the portal and the survey. No staff login.

The portal session holds only a customer id under its own key; it never
signs anyone in as staff, and staff signed in on the same browser stay
signed in (and vice versa).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from bounceback.audit.services import client_ip as audit_client_ip
from bounceback.customers.models import Customer
from bounceback.errors import NotFound, ServiceError
from bounceback.portal import selectors
from bounceback.portal.forms import (
    ELSEWHERE,
    HONEYPOT,
    LinkRequestForm,
    ReplyForm,
    ReportForm,
    SurveyForm,
)
from bounceback.portal.models import WebFormSubmission
from bounceback.portal.services import (
    SurveyUnusable,
    WebReport,
    portal_link_consume,
    portal_link_problem,
    portal_link_request,
    portal_reply,
    portal_survey_answer,
    survey_answer,
    survey_for_token,
    web_report_submit,
)
from bounceback.web.forms import add_service_error

SESSION_KEY = "bounceback.portal.customer_id"
_THANKS_KEY = "bounceback.portal.reported"


def client_ip(request: HttpRequest) -> str | None:
    """The address rate limits count against: the peer, or behind our own proxy the
    client it names (bounceback.web.proxies has already put it in REMOTE_ADDR)."""
    return audit_client_ip(request)


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"portal_name": settings.BOUNCEBACK_PORTAL_NAME, **context}
    return render(request, f"portal/{template}", context, status=status)


def _too_many(request: HttpRequest) -> HttpResponse:
    return _page(request, "rate_limited.html", {}, status=429)


def _problem(
    request: HttpRequest, title: str, message: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    return _page(
        request, "problem.html", {"title": title, "message": message, **extra}, status=status
    )


# --- The report form ---------------------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            submission = web_report_submit(
                report=WebReport(
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    what_happened=data["what_happened"],
                    happened_at=data["happened_at"],
                    site=form.site,
                    where_else=data["where_else"] if data["where"] == ELSEWHERE else "",
                    wanted=data["wanted"],
                    contact_by=data["contact_by"],
                ),
                ip=client_ip(request),
                honeypot=data[HONEYPOT],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            if submission.outcome == WebFormSubmission.Outcome.RATE_LIMITED:
                return _too_many(request)
            # A honeypot submission sees the same page, only without a reference.
            reference = submission.case.reference if submission.case else ""
            request.session[_THANKS_KEY] = reference
            return HttpResponseRedirect(reverse("portal:thanks"))
    return _page(request, "report.html", {"form": form}, status=422 if form.errors else 200)


@login_not_required
def thanks(request: HttpRequest) -> HttpResponse:
    if _THANKS_KEY not in request.session:
        return HttpResponseRedirect(reverse("portal:report"))
    return _page(request, "thanks.html", {"reference": request.session[_THANKS_KEY]})


# --- Magic links ----------------------------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            submission = portal_link_request(
                email=form.cleaned_data["email"], ip=client_ip(request)
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            if submission.outcome == WebFormSubmission.Outcome.RATE_LIMITED:
                return _too_many(request)
            return _page(request, "link_sent.html", {})
    return _page(request, "login.html", {"form": form}, status=422 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest, token: str) -> HttpResponse:
    # Mail scanners open links with GET; only the button's POST uses the link.
    if request.method == "GET":
        problem = portal_link_problem(selectors.portal_link_for_token(token=token))
        if problem:
            return _problem(request, "This link cannot be used", problem, new_link=True)
        return _page(request, "enter.html", {})
    try:
        customer = portal_link_consume(token=token)
    except ServiceError as exc:
        return _problem(request, "This link cannot be used", exc.message, new_link=True)
    request.session.cycle_key()
    request.session[SESSION_KEY] = customer.pk
    return HttpResponseRedirect(reverse("portal:home"))


@login_not_required
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    return _problem(
        request,
        "You have left the portal",
        "To come back, ask for a new link with your email address.",
        new_link=True,
    )


# --- The portal -----------------------------------------------------------------------------


def _customer(request: HttpRequest) -> Customer | None:
    customer_id = request.session.get(SESSION_KEY)
    if customer_id is None:
        return None
    return Customer.objects.filter(pk=customer_id).first()


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("portal:login"))


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    if customer is None:
        return _sign_in_first(request)
    cases = list(selectors.portal_cases(customer=customer))
    return _page(request, "home.html", {"customer": customer, "cases": cases, "portal": True})


@login_not_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    customer = _customer(request)
    if customer is None:
        return _sign_in_first(request)
    case = selectors.portal_case(customer=customer, reference=reference)
    if case is None:
        raise Http404("no such case")
    reply_form = ReplyForm()
    survey_form = SurveyForm()
    survey = selectors.survey_pending(case=case)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "reply":
                reply_form = ReplyForm(request.POST)
                if reply_form.is_valid():
                    portal_reply(customer=customer, case=case, body=reply_form.cleaned_data["body"])
                    return HttpResponseRedirect(
                        reverse("portal:case", args=[reference]) + "#messages"
                    )
            elif action == "survey" and survey is not None:
                survey_form = SurveyForm(request.POST)
                if survey_form.is_valid():
                    data = survey_form.cleaned_data
                    portal_survey_answer(
                        customer=customer,
                        invitation_id=survey.pk,
                        satisfaction=data["satisfaction"],
                        will_return=data["will_return"],
                        comment=data["comment"],
                    )
                    return HttpResponseRedirect(
                        reverse("portal:case", args=[reference]) + "#survey"
                    )
            elif action == "survey":
                return _problem(
                    request,
                    "Survey",
                    "This case is no longer waiting for your answer to this survey.",
                )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ServiceError as exc:
            add_service_error(survey_form if action == "survey" else reply_form, exc)
        status = 422
    context = {
        "customer": customer,
        "case": case,
        "messages_shown": list(selectors.portal_messages(case=case)),
        "reply_form": reply_form,
        "survey": survey,
        "survey_form": survey_form,
        "closed": case.status == case.Status.CLOSED,
        "portal": True,
    }
    return _page(request, "case.html", context, status=status)


# --- The survey ----------------------------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = survey_for_token(token=token)
    except SurveyUnusable as exc:
        return _problem(request, "This survey cannot be answered", exc.message)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey_answer(
                token=token,
                satisfaction=data["satisfaction"],
                will_return=data["will_return"],
                comment=data["comment"],
            )
        except SurveyUnusable as exc:
            return _problem(request, "This survey cannot be answered", exc.message)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return _page(request, "survey_thanks.html", {"satisfied": data["satisfaction"] >= 4})
    context = {"form": form, "case": invitation.case}
    return _page(request, "survey.html", context, status=422 if form.errors else 200)
