from django.apps import AppConfig


class BreakdownsConfig(AppConfig):
    name = "bounceback.breakdowns"
    label = "breakdowns"
    verbose_name = "Breakdowns"

    def ready(self) -> None:
        from datetime import timedelta

        from bounceback.background.registry import JobKind, job_kind_register
        from bounceback.breakdowns.jobs import outreach_job_run, outreach_watch, waves_job_run
        from bounceback.breakdowns.services import OUTREACH_JOB, WAVE_JOB
        from bounceback.breakdowns.timer_events import on_action_timer
        from bounceback.timers.clock import clock_register
        from bounceback.timers.handlers import register

        register("breakdown_action", on_action_timer)
        job_kind_register(JobKind(name=OUTREACH_JOB, run=outreach_job_run))
        job_kind_register(JobKind(name=WAVE_JOB, run=waves_job_run))
        clock_register("outreach_watch", outreach_watch, every=timedelta(minutes=1))
