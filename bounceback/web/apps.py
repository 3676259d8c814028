from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bounceback.web"
    label = "web"
