from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "bounceback.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks and message channels"

    def ready(self) -> None:
        from bounceback.background.deliveries import lane_register
        from bounceback.outbox.channels import adapter_register
        from bounceback.webhooks.adapters import JsonWebhookAdapter
        from bounceback.webhooks.models import InboundChannel
        from bounceback.webhooks.services import WEBHOOK_LANE

        lane_register(WEBHOOK_LANE)
        for kind in InboundChannel.Kind.values:
            adapter_register(kind, JsonWebhookAdapter(kind))
