from datetime import timedelta

from django.apps import AppConfig


class BackgroundConfig(AppConfig):
    name = "bounceback.background"
    label = "background"
    verbose_name = "Background work"

    def ready(self) -> None:
        from bounceback.background import leases, services
        from bounceback.timers.clock import clock_register, housekeeping_register

        lease = leases.lease_length()
        clock_register("jobs", services.jobs_sweep)
        clock_register("workers", services.worker_beat, every=lease / 3)
        clock_register("stalls", services.jobs_check_stalls, every=timedelta(seconds=30))
        clock_register("reaped_tasks", services.tasks_reap, every=lease)
        housekeeping_register("background", services.background_prune)
