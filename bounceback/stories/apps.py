from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "bounceback.stories"
    label = "stories"
    verbose_name = "Recovery stories and recognition"
