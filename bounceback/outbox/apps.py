from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "bounceback.outbox"
    label = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from bounceback.background.deliveries import lane_register
        from bounceback.outbox.services import OUTBOX_LANE

        lane_register(OUTBOX_LANE)
