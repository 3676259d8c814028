from datetime import timedelta

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "bounceback.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from bounceback.dashboards.services import (
            conversations_refresh,
            loyalty_figures_forget,
            loyalty_figures_refresh,
        )
        from bounceback.timers.clock import clock_register, housekeeping_register

        # First response times are kept fresh to the minute from new interactions.
        clock_register(
            "dashboards.conversations",
            lambda *, now: conversations_refresh(now=now),
            every=timedelta(seconds=30),
        )
        # Revenue kept (the loyalty report) is worked out in the background, one slice a
        # minute, so no dashboard waits for it.
        clock_register(
            "dashboards.loyalty_figures",
            lambda *, now: loyalty_figures_refresh(now=now),
            every=timedelta(seconds=60),
        )
        housekeeping_register(
            "dashboards.loyalty_figures", lambda *, now: loyalty_figures_forget(now=now)
        )
