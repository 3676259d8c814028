from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

from bounceback.web.htmx import is_htmx

logger = logging.getLogger(__name__)


class StaffLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in user unless its view is marked login_not_required.

    The API is exempt here because it authenticates each call itself (token or
    session) and must answer 401 JSON, not redirect to a login page.
    """

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Any
    ) -> HttpResponseBase:
        if not is_htmx(request):
            return super().handle_no_permission(request, view_func)
        # htmx would follow a redirect and swap the sign-in page into a fragment;
        # send the whole window there instead, coming back to the page it was on.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path or "/"
        if current.query:
            back += f"?{current.query}"
        target = redirect_to_login(back, self.get_login_url(view_func))
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target["Location"]
        return response


# The database is down or the connection was cut: a moment's outage, not a bug.
UNAVAILABLE = (OperationalError, InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the request's transaction was rolled back, nothing was stored."""
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "code": "unavailable",
                "message": "the database cannot be reached just now; nothing was stored, "
                "try again in a few seconds",
                "field": None,
                "errors": [],
            },
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html", request=None), status=503)
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """Pages answer 503 (not a server error) while the database is away."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE):
            logger.warning("database unavailable during %s %s", request.method, request.path)
            return unavailable_response(request)
        return None


class TimeZoneMiddleware:
    """Every page in the viewer's zone: staff in theirs (accounts.selectors.user_time_zone),
    a customer in the portal in their own, anyone else in the installation's.

    Django's date filters and `timezone.localtime` then show each person their
    own clock; an unknown zone stored somewhere falls back to TIME_ZONE rather
    than failing the page.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        from zoneinfo import ZoneInfo

        from django.utils import timezone

        name = _viewer_zone(request)
        try:
            timezone.activate(ZoneInfo(name))
        except (KeyError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)  # type: ignore[no-any-return]
        finally:
            timezone.deactivate()


def _viewer_zone(request: HttpRequest) -> str:
    from django.conf import settings

    from bounceback.accounts.selectors import user_time_zone

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user_time_zone(user)
    session = getattr(request, "session", None)
    if session is not None and request.path_info.startswith("/portal"):
        from bounceback.portal.views import SESSION_KEY

        customer_id = session.get(SESSION_KEY)
        if customer_id:
            from bounceback.customers.models import Customer

            zone = (
                Customer.objects.filter(pk=customer_id).values_list("time_zone", flat=True).first()
            )
            if zone:
                return str(zone)
    return str(settings.TIME_ZONE)
