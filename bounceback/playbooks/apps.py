from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "bounceback.playbooks"
    label = "playbooks"
    verbose_name = "Playbooks"
