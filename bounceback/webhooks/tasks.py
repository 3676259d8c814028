from __future__ import annotations

from django_tasks import task

from bounceback.webhooks.services import webhook_deliver


@task()
def deliver_webhook(delivery_id: int) -> None:
    webhook_deliver(delivery_id=delivery_id)
