from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "bounceback.segments"
    label = "segments"
    verbose_name = "Customer segments and their approaches"

    def ready(self) -> None:
        from bounceback.background.registry import JobKind, job_kind_register
        from bounceback.segments import jobs, services
        from bounceback.timers.clock import clock_register

        clock_register("segments", services.segments_recompute_due)
        job_kind_register(JobKind(name=services.CUSTOMERS_JOB, run=jobs.segments_customers_job))
        job_kind_register(JobKind(name=services.ALL_JOB, run=jobs.segments_all_job))
