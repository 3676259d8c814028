from django.urls import path

from bounceback.savedviews import views

app_name = "savedviews"

urlpatterns = [
    path("cases/views/", views.saved_view_save, name="save"),
    path("cases/views/<int:pk>/delete/", views.saved_view_remove, name="delete"),
]
