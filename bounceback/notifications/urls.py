from django.urls import path

from bounceback.notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read/", views.notifications_mark_all_read, name="read_all"),
    path("notifications/<int:pk>/", views.notification_open, name="open"),
    path("notifications/<int:pk>/read/", views.notification_mark_read, name="read"),
]
