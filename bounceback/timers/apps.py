from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "bounceback.timers"
    label = "timers"
    verbose_name = "Timers and business hours"
