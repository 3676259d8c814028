from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "bounceback.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from bounceback.background.registry import JobKind, job_kind_register
        from bounceback.cases.bulk import cases_next_due_refresh
        from bounceback.cases.jobs import bulk_job_run
        from bounceback.cases.services import BULK_JOB, case_viewers_prune
        from bounceback.cases.timer_events import on_case_timer
        from bounceback.timers.clock import housekeeping_register
        from bounceback.timers.handlers import due_register, register

        register("case", on_case_timer)
        due_register("case", cases_next_due_refresh)
        housekeeping_register("case_viewers", case_viewers_prune)
        job_kind_register(JobKind(name=BULK_JOB, run=bulk_job_run))
