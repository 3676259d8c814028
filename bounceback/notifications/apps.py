from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "bounceback.notifications"
    label = "notifications"
    verbose_name = "Staff notifications"
