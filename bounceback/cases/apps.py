from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "bounceback.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from bounceback.cases.timer_events import on_case_timer
        from bounceback.timers.handlers import register

        register("case", on_case_timer)
