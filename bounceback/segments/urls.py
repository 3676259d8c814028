from django.urls import path

from bounceback.segments import views

app_name = "segments"

urlpatterns = [
    path("segments/", views.segment_list, name="list"),
    path("segments/new/", views.segment_new, name="create"),
    path("segments/recompute/", views.segment_recompute, name="recompute_all"),
    path("segments/<int:pk>/", views.segment_detail, name="detail"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="edit"),
    path("segments/<int:pk>/recompute/", views.segment_recompute, name="recompute"),
]
