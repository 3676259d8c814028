from django.apps import AppConfig


class FundsConfig(AppConfig):
    name = "bounceback.funds"
    label = "funds"
    verbose_name = "Recovery funds and compensation"
