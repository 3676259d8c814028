"""The generic JSON webhook adapter: replies on chat, social and SMS go to the provider.

Any provider is wired without code: an InboundChannel with an `outbound_url`
receives every reply on its kind as a signed JSON POST (docs/channels.md):

    {"channel": <slug>, "to": <sender id or phone>, "text": ..., "subject": ...,
     "case": <reference>, "message_id": ..., "in_reply_to": <the customer's last
     message id>, "thread": <conversation id>}

2xx means sent; 4xx (except 408 and 429) is permanent, since sending the same
request again gets the same refusal; anything else, or no answer, is retried
by the outbox.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.conf import settings

from bounceback.outbox.channels import DeliveryError
from bounceback.webhooks import signing

if TYPE_CHECKING:
    from bounceback.outbox.models import OutboundMessage
    from bounceback.webhooks.models import InboundChannel

_RETRYABLE_4XX = {408, 429}


def sending_kinds() -> frozenset[str]:
    """The kinds (chat, social, sms) that have an active channel able to send replies.

    One query; callers that ask for many messages at once (a page of reply
    forms, an outreach wave) ask once through `outbox.channels.usable_channels`.
    """
    from bounceback.webhooks.models import InboundChannel

    kinds = (
        InboundChannel.objects.filter(active=True)
        .exclude(outbound_url="")
        .order_by()
        .values_list("kind", flat=True)
        .distinct()
    )
    return frozenset(kinds)


class JsonWebhookAdapter:
    def __init__(self, kind: str):
        self.kind = kind

    def _channels(self) -> Any:
        from bounceback.webhooks.models import InboundChannel

        return InboundChannel.objects.filter(kind=self.kind, active=True).exclude(outbound_url="")

    # One query answers for chat, social and SMS at once (outbox.channels.usable_channels).
    usable_kinds = staticmethod(sending_kinds)

    def available(self) -> bool:
        return self.kind in sending_kinds()

    def _route(self, message: OutboundMessage) -> tuple[InboundChannel, dict[str, Any]]:
        """The channel the customer last wrote from on this kind, and that message's metadata.

        Answering through the same provider keeps the conversation in one place;
        without any such message the first channel with an outbound URL is used.
        """
        from bounceback.interactions.models import Interaction

        channels = {c.source: c for c in self._channels()}
        if not channels:
            raise DeliveryError(f"no active {self.kind} channel has an outbound URL")
        last = None
        if message.customer_id:
            last = (
                Interaction.objects.filter(
                    customer_id=message.customer_id,
                    channel=self.kind,
                    direction=Interaction.Direction.INBOUND,
                    source__in=list(channels),
                )
                .order_by("-occurred_at", "-id")
                .values("source", "external_id", "metadata")
                .first()
            )
        if last is None:
            return min(channels.values(), key=lambda c: c.pk), {}
        return channels[last["source"]], {
            "external_id": last["external_id"] or "",
            **(last["metadata"] or {}),
        }

    def send(self, message: OutboundMessage) -> None:
        channel, last = self._route(message)
        document = {
            "channel": channel.slug,
            "to": message.to_address,
            "text": message.body_text,
            "subject": message.subject,
            "case": message.headers.get("X-Bounceback-Case", ""),
            "message_id": message.message_id,
            "in_reply_to": message.in_reply_to or last.get("external_id", ""),
            "thread": str(last.get("thread", "")),
        }
        body = json.dumps(document, separators=(",", ":")).encode()
        answer = signing.post_json(
            url=channel.outbound_url,
            body=body,
            headers=signing.signed_headers(secret=channel.outbound_secret, body=body),
            timeout=settings.BOUNCEBACK_WEBHOOK_TIMEOUT,
        )
        if answer.ok:
            return
        status = answer.status
        reason = answer.error or f"HTTP {status}"
        if answer.excerpt:
            reason = f"{reason}: {answer.excerpt[:200]}"
        permanent = status is not None and 400 <= status < 500 and status not in _RETRYABLE_4XX
        raise DeliveryError(f"{channel.slug}: {reason}", permanent=permanent)
