from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "bounceback.portal"
    label = "portal"
    verbose_name = "Public form, customer portal and survey"
