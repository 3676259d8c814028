"""Demo email: a complaint thread with a reply, an out-of-office, and a message held for a person.

Everything goes through `email_receive`, exactly as mail from IMAP or SMTP
would, so the demo shows what intake really does with each kind of message.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import timezone

from bounceback.mail.outgoing import reply_address
from bounceback.mail.services import email_receive

SENDER = "Marisol Ortega <marisol.ortega@example.net>"
COMPLAINT = (
    "Hello,\n\nI was charged twice for the same order and the refund I was promised on the "
    "phone never arrived. Contacted you 6 times about it; every time I get a different "
    "answer and the dispute is just marked as closed.\n\nPlease fix this.\nMarisol"
)
REPLY = (
    "One more thing: the second charge is now showing as a late payment on my statement.\n\n"
    "Marisol\n\nOn Mon, Marisol Ortega <marisol.ortega@example.net> wrote:\n"
    "> I was charged twice for the same order"
)


def _message(*, subject: str, body: str, sender: str = SENDER, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address() or settings.DEFAULT_FROM_EMAIL
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="example.net")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def load_mail() -> None:
    """Receive the demo's emails; safe to run twice (intake stores each message once)."""
    first = _message(subject="Charged twice, refund never came", body=COMPLAINT)
    first.replace_header("Message-ID", "<demo-charged-twice@example.net>")
    email_receive(raw=first.as_bytes(), source="demo")

    reply = _message(
        subject="Re: Charged twice, refund never came",
        body=REPLY,
        In_Reply_To="<demo-charged-twice@example.net>",
        References="<demo-charged-twice@example.net>",
    )
    reply.replace_header("Message-ID", "<demo-charged-twice-2@example.net>")
    email_receive(raw=reply.as_bytes(), source="demo")

    away = _message(
        subject="Automatic reply: Your complaint",
        body="I am out of the office until Monday and will answer when I am back.",
        sender="Peter Lindqvist <peter.lindqvist@example.org>",
        Auto_Submitted="auto-replied",
    )
    away.replace_header("Message-ID", "<demo-away@example.org>")
    email_receive(raw=away.as_bytes(), source="demo")

    # A message whose sender cannot be read: kept for a person to look at.
    broken = (
        b"To: care@example.com\r\nSubject: =?utf-8?q?Broken_message?=\r\n"
        b"Message-ID: <demo-broken@example.invalid>\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\n"
        b"My parcel was left in the rain and everything inside is ruined. \xe9\xe8\r\n"
    )
    email_receive(raw=broken, source="demo")
