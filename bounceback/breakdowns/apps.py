from django.apps import AppConfig


class BreakdownsConfig(AppConfig):
    name = "bounceback.breakdowns"
    label = "breakdowns"
    verbose_name = "Breakdowns"

    def ready(self) -> None:
        from bounceback.breakdowns.timer_events import on_action_timer
        from bounceback.timers.handlers import register

        register("breakdown_action", on_action_timer)
