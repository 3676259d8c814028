from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "bounceback.mail"
    label = "mail"
    verbose_name = "Email in and out"
