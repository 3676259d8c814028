from django.urls import path

from bounceback.stories import views

app_name = "stories"

urlpatterns = [
    path("stories/", views.library, name="library"),
    path("stories/recognition/", views.recognition, name="recognition"),
    path("stories/from-case/<int:case_id>/", views.draft, name="draft"),
    path("stories/<int:pk>/", views.detail, name="detail"),
    path("stories/<int:pk>/edit/", views.edit, name="edit"),
    path("stories/<int:pk>/nominate/", views.nominate, name="nominate"),
    path("stories/<int:pk>/publish/", views.publish, name="publish"),
    path("stories/<int:pk>/recognise/", views.recognise, name="recognise"),
    path("stories/<int:pk>/prevention/", views.prevention, name="prevention"),
]
