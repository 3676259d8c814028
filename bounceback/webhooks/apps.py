from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "bounceback.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks and message channels"
