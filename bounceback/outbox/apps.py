from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "bounceback.outbox"
    label = "outbox"
    verbose_name = "Outbox"
