from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bounceback.web"
    label = "web"

    def ready(self) -> None:
        from bounceback.timestamps import timestamps_readable

        # Pages and API lists must never fail on a stored date they cannot show.
        timestamps_readable()
