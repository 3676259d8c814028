"""Raw emails and stored inbound emails for the mail app's tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone


def raw_email(
    *,
    sender: str = "Dana Whitfield <dana@example.net>",
    to: str = "care@localhost",
    subject: str = "My order never arrived",
    body: str = "I ordered a kettle three weeks ago and it never came. Nobody answers the phone.",
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    html: str = "",
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    """A well-formed message as a mail client would send it (override what a test needs)."""
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = (
        message_id if message_id is not None else make_msgid(domain="example.net")
    )
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
