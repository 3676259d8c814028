from django.urls import path

from bounceback.apitokens import views

app_name = "apitokens"

urlpatterns = [
    path("settings/tokens/", views.token_index, name="list"),
    path("settings/tokens/<str:prefix>/revoke/", views.token_revoke_confirm, name="revoke"),
]
