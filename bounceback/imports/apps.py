from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "bounceback.imports"
    label = "imports"
