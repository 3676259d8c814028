from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "bounceback.signals"
    label = "signals"
    verbose_name = "Signals"
