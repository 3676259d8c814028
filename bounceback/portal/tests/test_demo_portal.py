from __future__ import annotations

import pytest

from bounceback.cases.models import Case
from bounceback.demo.portal import REPORTER_EMAIL, load_portal
from bounceback.portal.models import SurveyInvitation, WebFormSubmission
from bounceback.testing.factories import CustomerFactory, SiteFactory
from bounceback.testing.portal_factories import make_followed_up_case

pytestmark = pytest.mark.django_db


def test_given_a_followed_up_case_when_the_demo_loads_then_a_web_report_and_a_survey_answer(
    agent,
) -> None:  # type: ignore[no-untyped-def]
    SiteFactory(code="grand-hall", name="Grand Hall")
    followed_up, _ = make_followed_up_case(customer=CustomerFactory(), assignee=agent)

    load_portal()

    report = WebFormSubmission.objects.get()
    assert report.outcome == "accepted" and report.case is not None
    assert report.case.customer.primary_email == REPORTER_EMAIL
    assert report.case.channel == "web" and report.case.site is not None
    followed_up.refresh_from_db()
    assert followed_up.satisfied is True
    assert SurveyInvitation.objects.get(case=followed_up).answers["satisfaction"] == 4


def test_given_no_followed_up_case_when_the_demo_loads_then_only_the_report(db: None) -> None:
    load_portal()

    assert Case.objects.count() == 1
    assert not SurveyInvitation.objects.exists()
