from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "bounceback.api"
    label = "api"
