from django.urls import path

from bounceback.replies import views

app_name = "replies"

urlpatterns = [
    path("replies/", views.reply_list, name="list"),
    path("replies/new/", views.reply_create, name="create"),
    path("replies/<int:pk>/", views.reply_edit, name="edit"),
    path("replies/<int:pk>/archive/", views.reply_archive, name="archive"),
    path("replies/<int:pk>/for-case/<int:case_pk>/", views.reply_for_case, name="for_case"),
]
