from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "bounceback.demo"
    label = "demo"
