"""The outbox adapter for channel "web": a message to read in the portal.

The message itself is already on the case (the portal shows it); delivering
it means telling the customer by email, with the text and a fresh magic link,
since the portal has no other way to reach them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage

from bounceback.mail.sending import email_adapter
from bounceback.outbox.channels import DeliveryError

if TYPE_CHECKING:
    from bounceback.outbox.models import OutboundMessage


class PortalNoticeAdapter:
    def send(self, message: OutboundMessage) -> None:
        from bounceback.portal.services import portal_notice

        customer = message.customer
        if customer is None:
            raise DeliveryError("a portal message needs its customer", permanent=True)
        subject, body = portal_notice(message=message)
        headers = {"Message-ID": message.message_id, **message.headers}
        email = EmailMessage(
            subject=subject,
            body=body,
            from_email=message.from_address or settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers=headers,
        )
        email_adapter().send_email(email)
