from django.urls import path

from bounceback.failuremodes import views

app_name = "failuremodes"

urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/propose/", views.propose, name="propose"),
    path("catalog/coverage/", views.coverage, name="coverage"),
    path("catalog/touchpoints/", views.touchpoint_list, name="touchpoints"),
    path("catalog/touchpoints/<int:pk>/", views.touchpoint_edit, name="touchpoint_edit"),
    path("catalog/<int:pk>/", views.detail, name="detail"),
    path("catalog/<int:pk>/vote/", views.vote, name="vote"),
    path("catalog/<int:pk>/decide/", views.decide, name="decide"),
    path("catalog/<int:pk>/edit/", views.edit, name="edit"),
    path("catalog/<int:pk>/retire/", views.retire, name="retire"),
]
