from django.urls import path

from bounceback.loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("loyalty/", views.loyalty_page, name="report"),
    path("loyalty/cohorts/<slug:key>/", views.cohort_members, name="cohort"),
]
