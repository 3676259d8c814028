from django.urls import path

from bounceback.transactions import views

app_name = "transactions"

urlpatterns = [
    path("transactions/", views.transaction_list, name="list"),
    path(
        "customers/<int:customer_pk>/transactions/new/",
        views.transaction_create,
        name="create",
    ),
]
