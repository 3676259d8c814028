from __future__ import annotations

from django.urls import path

from bounceback.background import views

app_name = "background"

urlpatterns = [
    path("deliveries/failed/", views.failed_list, name="failed"),
    path("deliveries/failed/<slug:lane>/<int:pk>/retry/", views.failed_retry, name="retry"),
]
