from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "bounceback.learning"
    label = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        from datetime import timedelta

        from bounceback.background.registry import JobKind, job_kind_register
        from bounceback.learning.jobs import themes_job_run
        from bounceback.learning.services import (
            THEMES_JOB,
            case_texts_refresh,
            problems_check,
            themes_recompute_due,
        )
        from bounceback.timers.clock import clock_register

        # New cases get their vector (and theme) within seconds; the query behind
        # it is an anti-join on the primary key, so an idle tick costs one read.
        clock_register("case_texts", case_texts_refresh, every=timedelta(seconds=10))
        job_kind_register(
            JobKind(name=THEMES_JOB, run=themes_job_run, stall_after=timedelta(minutes=10))
        )
        clock_register("themes_due", themes_recompute_due, every=timedelta(minutes=5))
        # Verified problems reopen by themselves when their cases come back.
        clock_register("problems_check", problems_check, every=timedelta(minutes=10))
