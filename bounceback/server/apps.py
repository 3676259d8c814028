from django.apps import AppConfig


class ServerConfig(AppConfig):
    name = "bounceback.server"
    label = "server"
    verbose_name = "Web server and worker processes"
