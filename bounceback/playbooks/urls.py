from django.urls import path

from bounceback.playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("playbooks/", views.playbook_list, name="list"),
    path("playbooks/new/", views.playbook_create, name="create"),
    path("playbooks/preview/", views.playbook_preview, name="preview"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="detail"),
    path("playbooks/<int:pk>/edit/", views.playbook_edit, name="edit"),
    path("playbooks/<int:pk>/details/", views.playbook_details, name="details"),
    path("playbooks/<int:pk>/archive/", views.playbook_archive, name="archive"),
    path("playbooks/<int:pk>/versions/<int:number>/", views.playbook_version, name="version"),
]
