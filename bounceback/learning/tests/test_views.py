"""The staff pages of the learning app."""

from __future__ import annotations

import pytest

from bounceback.learning.models import CaseText, Theme

pytestmark = pytest.mark.django_db


def test_themes_page_lists_each_theme_with_its_words(topics, agent_client):
    page = agent_client.get("/learning/themes/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('data-theme="') == 3
    assert "parcel" in body or "delivery" in body


def test_theme_page_draws_its_weeks_and_a_lead_names_it(topics, lead_client):
    theme_id = CaseText.objects.get(case=topics["repair"][0]).theme_id
    page = lead_client.get(f"/learning/themes/{theme_id}/")
    assert page.status_code == 200
    assert '<svg class="chart"' in page.content.decode()

    answer = lead_client.post(f"/learning/themes/{theme_id}/rename/", {"name": "Repairs late"})
    assert answer.status_code == 302
    assert Theme.objects.get(pk=theme_id).name == "Repairs late"


def test_an_agent_sees_themes_but_cannot_merge_them(topics, agent_client):
    a, b = Theme.objects.active()[:2]
    answer = agent_client.post(f"/learning/themes/{a.pk}/merge/", {"into": b.pk})
    assert answer.status_code == 403
    assert Theme.objects.get(pk=a.pk).state == Theme.State.ACTIVE
