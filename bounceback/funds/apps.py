from django.apps import AppConfig


class FundsConfig(AppConfig):
    name = "bounceback.funds"
    label = "funds"
    verbose_name = "Recovery funds and compensation"

    def ready(self) -> None:
        from bounceback.funds.timer_events import on_approval_timer
        from bounceback.timers.handlers import register

        register("approval", on_approval_timer)
