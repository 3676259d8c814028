from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class ServerConfig(AppConfig):
    name = "bounceback.server"
    label = "server"
    verbose_name = "Web server and worker processes"

    def ready(self) -> None:
        from bounceback.server.statistics import statistics_after_migrate, statistics_refresh
        from bounceback.timers.clock import housekeeping_register

        # Once per migrate run: post_migrate fires for each app with models, after the
        # whole run, so pinning it to one of them (this app has none) is enough.
        post_migrate.connect(
            statistics_after_migrate,
            sender=apps.get_app_config("cases"),
            dispatch_uid="sqlite-analyze",
        )
        housekeeping_register("sqlite_statistics", statistics_refresh)
