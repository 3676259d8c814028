from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "bounceback.learning"
    label = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        from datetime import timedelta

        from bounceback.learning.services import case_texts_refresh
        from bounceback.timers.clock import clock_register

        # New cases get their vector within seconds; the query behind it is an
        # anti-join on the primary key, so an idle tick costs one indexed read.
        clock_register("case_texts", case_texts_refresh, every=timedelta(seconds=10))
