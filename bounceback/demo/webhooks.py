"""The demo's integrations: an SMS provider wired as an inbound channel, and a
webhook subscription whose receiver is down.

Both go through the webhooks services. The subscription points at a name
that never resolves (.invalid, RFC 2606), since this machine's own ports are
refused as internal addresses, so with the worker running its deliveries really
fail and retry with backoff; one delivery is attempted here, honestly, so the
log shows a failed delivery from the start. Call after the demo's cases
are loaded (the subscription is made last, so loading the cases does not
queue hundreds of deliveries).
"""

from __future__ import annotations

from bounceback.webhooks.services import (
    channel_create,
    subscription_create,
    subscription_send_test,
    webhook_deliver,
)

# .invalid never resolves anywhere: a receiver that is honestly down.
DOWN_RECEIVER = "http://dashboard.invalid/bounceback-events"


def load_webhooks() -> None:
    channel_create(
        name="SMS via Twilio-style provider",
        slug="sms",
        kind="sms",
        actor=None,
        # The provider posts {"MessageSid", "From", "To", "Body"} (relayed as JSON).
        mapping={
            "message_id": "MessageSid",
            "sender_id": "From",
            "sender_phone": "From",
            "text": "Body",
        },
        outbound_url="",
    )
    subscription = subscription_create(
        name="Operations dashboard (receiver down)",
        url=DOWN_RECEIVER,
        events=["case.opened", "case.breached", "case.closed", "breakdown.declared"],
        actor=None,
    )
    delivery = subscription_send_test(subscription=subscription, actor=None)
    webhook_deliver(delivery_id=delivery.pk)
