from django.urls import path

from bounceback.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/cases/", views.drill_cases, name="cases"),
    path("dashboards/tiles/<str:name>.csv", views.tile_csv, name="csv"),
    path("dashboards/<str:kind>/", views.dashboard_page, name="page"),
]
