"""The customer's whole path in a real browser: report, magic link, portal, reply, survey."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from bounceback.cases.models import Case
from bounceback.cases.services import case_apologise, case_follow_up, case_mark_fixed
from bounceback.interactions.models import Interaction
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.testing.portal_factories import SINCERE, deliver_all, links_in_mail, path_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_reports_follows_their_case_replies_and_answers_the_survey(
    page: Any, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    SiteFactory(code="grand-hall", name="Grand Hall")
    agent = UserFactory()

    # The public form, no login.
    page.goto("/report/")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Your email").fill("ada@example.com")
    page.get_by_label("What happened?").fill("Our table was given away although we had booked.")
    page.get_by_label("Where did it happen?").select_option(label="Grand Hall")
    page.get_by_label("What would you like us to do?").fill("Refund the deposit")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thank you for telling us").wait_for()
    case = Case.objects.get()
    assert case.reference in page.inner_text("main")

    # The magic link from the email: GET shows a button, the button opens the portal.
    deliver_all()
    [link] = links_in_mail()
    page.goto(path_of(link))
    page.get_by_role("button", name="Continue to your cases").click()
    page.get_by_role("link", name=f"{case.reference} · Our table was given away").click()
    page.get_by_label("Your message").fill("We are free on Friday, if that helps.")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("We are free on Friday, if that helps.").wait_for()
    assert Interaction.objects.filter(case=case, body__startswith="We are free on Friday").exists()

    # Staff put it right and follow up by email (through the services).
    case = case_apologise(case=case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Deposit refunded")
    case_follow_up(
        case=case,
        actor=agent,
        body="Did we put it right?",
        channel="email",
        early_reason="She asked us to call back this week",
    )
    mail.outbox.clear()
    deliver_all()
    [survey] = links_in_mail("survey")

    page.goto(path_of(survey))
    page.get_by_label("5", exact=True).check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_label("What could we have done better?").fill("Call us sooner next time")
    page.get_by_role("button", name="Send my answer").click()
    page.get_by_text("Thank you for your answer").wait_for()

    case.refresh_from_db()
    assert case.satisfied is True and case.will_return is True
    assert case.follow_up_comment == "Call us sooner next time"
    answer = case.events.get(kind="follow_up_recorded")
    assert answer.actor_label == "Ada Lovelace (survey)" and answer.data["score"] == 5
