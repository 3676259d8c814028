from django.urls import path

from bounceback.interactions import views

app_name = "interactions"

urlpatterns = [
    path(
        "customers/<int:customer_pk>/interactions/new/",
        views.interaction_create,
        name="create",
    ),
]
