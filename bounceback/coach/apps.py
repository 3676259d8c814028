from django.apps import AppConfig


class CoachConfig(AppConfig):
    name = "bounceback.coach"
    label = "coach"
    verbose_name = "Apology coach"
