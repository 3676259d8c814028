from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "bounceback.interactions"
    label = "interactions"
    verbose_name = "Interactions"
