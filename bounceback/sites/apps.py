from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "bounceback.sites"
    label = "sites"
    verbose_name = "Sites"
