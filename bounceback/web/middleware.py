from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from bounceback.web.htmx import is_htmx


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
