from __future__ import annotations

from django.urls import path

from bounceback.portal import views

app_name = "portal"

urlpatterns = [
    path("report/", views.report, name="report"),
    path("report/thanks/", views.thanks, name="thanks"),
    path("portal/", views.home, name="home"),
    path("portal/login/", views.login, name="login"),
    path("portal/enter/<str:token>/", views.enter, name="enter"),
    path("portal/logout/", views.logout, name="logout"),
    path("portal/cases/<str:reference>/", views.case_detail, name="case"),
    path("survey/<str:token>/", views.survey, name="survey"),
]
