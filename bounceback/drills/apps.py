from datetime import timedelta

from django.apps import AppConfig


class DrillsConfig(AppConfig):
    name = "bounceback.drills"
    label = "drills"
    verbose_name = "Drills: practising playbooks in a sandbox"

    def ready(self) -> None:
        from bounceback.drills import services
        from bounceback.timers.clock import clock_register

        # Live drills' injects arrive on the clock; schedules open their next drill.
        clock_register("drill_injects", services.drill_injects_run_due, every=timedelta(seconds=5))
        clock_register(
            "drill_schedules", services.drill_schedules_run_due, every=timedelta(minutes=1)
        )
