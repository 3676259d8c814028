from django.urls import path

from bounceback.learning import views

app_name = "learning"

urlpatterns = [
    path("cases/<int:pk>/similar/", views.similar, name="similar"),
]
