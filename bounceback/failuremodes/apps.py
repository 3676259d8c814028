from django.apps import AppConfig


class FailureModesConfig(AppConfig):
    name = "bounceback.failuremodes"
    label = "failuremodes"
    verbose_name = "Failure-mode catalog"
