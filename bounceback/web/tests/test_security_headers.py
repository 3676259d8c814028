"""Every page carries a Content-Security-Policy and a Permissions-Policy, and no page
holds a script the policy would block (issue 13)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.testing.factories import UserFactory
from bounceback.testing.funds_factories import open_case

pytestmark = pytest.mark.django_db

PUBLIC = ["/accounts/login/", "/report/", "/portal/login/", "/api/docs"]


class _Scripts(HTMLParser):
    """Collects what a script-src 'self' policy refuses: inline scripts, on* handlers,
    javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            kind = (named.get("type") or "text/javascript").lower()
            self._inline = kind in {"text/javascript", "module", "application/javascript"}
        for name, value in attrs:
            if name.lower().startswith("on") or name.lower().startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=...>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value}>")

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.problems.append(f"inline <script>{data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline = False


def _check(response, path: str) -> None:  # type: ignore[no-untyped-def]
    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy, path
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0], path
    assert "unsafe-eval" not in policy, path
    assert "frame-ancestors 'none'" in policy, path
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), path
    if "text/html" in response.headers.get("Content-Type", ""):
        parser = _Scripts()
        parser.feed(response.content.decode())
        assert parser.problems == [], path


def test_given_the_public_pages_then_each_has_the_policies_and_no_inline_script() -> None:
    client = Client()
    for path in PUBLIC:
        response = client.get(path)
        assert response.status_code == 200, path
        _check(response, path)


def test_given_every_page_in_the_navigation_then_each_has_the_policies_and_no_inline_script(
    admin_user,
) -> None:
    case = open_case()
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN))
    home = client.get("/")
    pages = ["/", *(url for _, url, _ in home.context["nav_items"]), f"/cases/{case.pk}/"]
    pages += [f"/customers/{case.customer_id}/", "/notifications/", "/accounts/password/"]
    seen = 0
    for path in dict.fromkeys(pages):
        response = client.get(path)
        if response.status_code == 404:
            continue
        assert response.status_code == 200, path
        _check(response, path)
        seen += 1
    assert seen >= 8


def test_given_an_api_answer_or_an_error_page_then_the_headers_are_there_too(
    make_token_client,
) -> None:
    api = make_token_client("customers:read").get("/api/customers/")
    missing = Client().get("/no-such-page/")

    assert api.status_code == 200
    assert "Content-Security-Policy" in api.headers
    assert missing.status_code in {302, 404}
    assert "Content-Security-Policy" in missing.headers


def test_given_the_base_template_then_htmx_is_configured_for_the_policy(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)

    page = client.get("/").content.decode()

    assert '<meta name="htmx-config"' in page
    assert '"allowEval": false' in page
    assert '"includeIndicatorStyles": false' in page


def test_given_a_refused_all_clear_then_its_composer_opens_without_a_script() -> None:
    import re

    from bounceback.breakdowns.services import breakdown_confirm_outreach
    from bounceback.testing.breakdowns_factories import make_breakdown

    lead = UserFactory(role=Role.LEAD)
    breakdown = breakdown_confirm_outreach(breakdown=make_breakdown(actor=lead), actor=lead)
    client = Client()
    client.force_login(lead)

    response = client.post(
        f"/breakdowns/{breakdown.pk}/all-clear/",
        {"prefix": "all_clear", "all_clear-subject": "", "all_clear-body": ""},
    )

    page = response.content.decode()
    assert re.search(r'<details class="card bd-composer" id="all-clear" open>', page)
    _check(response, "breakdown detail")
