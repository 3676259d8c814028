from __future__ import annotations

from django.urls import path

from bounceback.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("hooks/<slug:slug>/", views.hook, name="hook"),
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/webhooks/new/", views.subscription_create, name="subscription_create"),
    path("integrations/webhooks/<int:pk>/", views.subscription_detail, name="subscription"),
    path("integrations/webhooks/<int:pk>/edit/", views.subscription_edit, name="subscription_edit"),
    path("integrations/webhooks/<int:pk>/test/", views.subscription_test, name="subscription_test"),
    path(
        "integrations/webhooks/<int:pk>/disable/",
        views.subscription_disable,
        name="subscription_disable",
    ),
    path(
        "integrations/webhooks/<int:pk>/enable/",
        views.subscription_enable,
        name="subscription_enable",
    ),
    path(
        "integrations/webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="redeliver",
    ),
    path("integrations/channels/new/", views.channel_create, name="channel_create"),
    path("integrations/channels/<int:pk>/", views.channel_detail, name="channel"),
    path("integrations/channels/<int:pk>/edit/", views.channel_edit, name="channel_edit"),
    path("integrations/channels/<int:pk>/rotate/", views.channel_rotate, name="channel_rotate"),
    path(
        "integrations/channels/<int:pk>/revoke-previous/",
        views.channel_revoke_previous,
        name="channel_revoke_previous",
    ),
]
