from django.urls import path

from bounceback.discovery import views

app_name = "discovery"

urlpatterns = [
    path("discovery/", views.overview, name="overview"),
    path("discovery/rules/new/", views.rule_new, name="rule_new"),
    path("discovery/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("discovery/rules/<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("discovery/suspected/<int:pk>/", views.suspected_detail, name="suspected"),
    path("discovery/suspected/<int:pk>/declare/", views.suspected_declare, name="declare"),
    path("discovery/suspected/<int:pk>/dismiss/", views.suspected_dismiss, name="dismiss"),
]
