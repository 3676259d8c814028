from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "bounceback.replies"
    label = "replies"
    verbose_name = "Canned replies"
