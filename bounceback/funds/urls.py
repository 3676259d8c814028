from django.urls import path

from bounceback.funds import views

app_name = "funds"

urlpatterns = [
    path("funds/", views.overview, name="overview"),
    path("funds/approvals/", views.approval_queue, name="approvals"),
    path("funds/approvals/<int:pk>/decide/", views.approval_decide, name="decide"),
    path("funds/approvals/<int:pk>/escalate/", views.approval_escalate, name="escalate"),
    path("funds/settings/", views.fund_settings, name="settings"),
    path("funds/settings/roles/<str:role>/", views.policy_set, name="policy_set"),
    path("funds/settings/people/", views.override_set, name="override_set"),
    path("funds/grants/<int:pk>/", views.grant_detail, name="grant"),
    path("funds/grants/<int:pk>/reverse/", views.grant_reverse, name="reverse"),
    path("funds/cases/<int:case_pk>/grant/", views.grant_create, name="grant_create"),
]
