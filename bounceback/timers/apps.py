from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "bounceback.timers"
    label = "timers"
    verbose_name = "Timers and business hours"

    def ready(self) -> None:
        from bounceback.timers.clock import clock_register
        from bounceback.timers.services import timers_fire_due

        clock_register("timers", timers_fire_due)
