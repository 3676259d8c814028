from django.urls import path

from bounceback.timers import views

app_name = "timers"

urlpatterns = [
    path("settings/calendars/", views.calendar_list, name="calendars"),
    path("settings/calendars/sites/", views.site_calendar, name="site_calendar"),
]
