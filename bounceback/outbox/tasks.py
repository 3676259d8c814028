from __future__ import annotations

from django_tasks import task

from bounceback.outbox.services import outbox_deliver


@task()
def deliver_message(message_id: int) -> None:
    outbox_deliver(message_id=message_id)
