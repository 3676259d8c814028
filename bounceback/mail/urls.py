from django.urls import path

from bounceback.mail import views

app_name = "mail"

urlpatterns = [
    path("mail/", views.mail_list, name="list"),
    path("mail/<int:pk>/", views.mail_detail, name="detail"),
    path("mail/<int:pk>/raw/", views.mail_raw, name="raw"),
    path("mail/<int:pk>/release/", views.mail_release, name="release"),
    path("mail/<int:pk>/discard/", views.mail_discard, name="discard"),
    path("mail/attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
