from datetime import timedelta

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "bounceback.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from bounceback.dashboards.services import conversations_refresh
        from bounceback.timers.clock import clock_register

        # First response times are kept fresh to the minute from new interactions.
        clock_register(
            "dashboards.conversations",
            lambda *, now: conversations_refresh(now=now),
            every=timedelta(seconds=30),
        )
