"""Email out: the outbox adapter that hands customer messages to the mail server.

Each delivery lane thread keeps one connection open and reuses it (a NOOP
first when it sat idle), so a wave of thousands of messages is not thousands
of TCP and TLS handshakes. What the server answers decides what happens next
(RFC 5321 section 4.2.5): any 4xx, at any stage, is a temporary refusal and the
message is retried with backoff; a 5xx on the recipient or at the end of DATA
is permanent and fails the message at once; a dropped or refused connection,
or no answer, is temporary. The server is given as long as the standard says
to answer the end of DATA (ten minutes, section 4.5.3.2) before a send is
counted as failed; connecting has its own, shorter, limit (EMAIL_TIMEOUT).
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection

from bounceback.outbox.channels import DeliveryError

if TYPE_CHECKING:
    from bounceback.outbox.models import OutboundMessage

# A connection idle longer than this is checked with NOOP before it is reused.
IDLE_CHECK = 5.0


def delivery_error(exc: BaseException) -> DeliveryError:
    """What a failed send means for the message: retry later, or give up now."""
    permanent = False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= int(code) < 600 for code in codes)
        detail = "; ".join(
            f"{code} {_text(reply)}" for code, reply in exc.recipients.values()
        ) or str(exc)
        return DeliveryError(f"recipient refused: {detail}"[:2000], permanent=permanent)
    if isinstance(exc, smtplib.SMTPDataError):
        permanent = 500 <= exc.smtp_code < 600
    elif isinstance(exc, ValueError):
        # An address Django cannot even put in a header: no retry will help.
        permanent = True
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
    else:
        detail = str(exc) or type(exc).__name__
    return DeliveryError(f"{type(exc).__name__}: {detail}"[:2000], permanent=permanent)


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def build_email(message: OutboundMessage) -> EmailMultiAlternatives:
    headers = {"Message-ID": message.message_id, **message.headers}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = message.references
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_address or settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


class EmailAdapter:
    """Sends through Django's configured email backend (SMTP, console, file...)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @staticmethod
    def _settings_key() -> tuple[Any, ...]:
        return (
            settings.EMAIL_BACKEND,
            settings.EMAIL_HOST,
            settings.EMAIL_PORT,
            settings.EMAIL_HOST_USER,
            settings.EMAIL_USE_TLS,
            settings.EMAIL_USE_SSL,
        )

    def _open(self) -> Any:
        """This thread's connection: kept open between messages, checked after a pause."""
        local = self._local
        key = self._settings_key()
        connection = getattr(local, "connection", None)
        if connection is not None and getattr(local, "key", None) != key:
            self.close()
            connection = None
        if connection is not None and time.monotonic() - local.used_at > IDLE_CHECK:
            smtp = getattr(connection, "connection", None)
            try:
                if smtp is not None and smtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP refused")
            except (OSError, smtplib.SMTPException):
                self.close()
                connection = None
        if connection is None:
            connection = get_connection(fail_silently=False)
            connection.open()
            smtp = getattr(connection, "connection", None)
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                # Connected within EMAIL_TIMEOUT; from here on the server may
                # take as long as the standard allows to answer.
                sock.settimeout(settings.BOUNCEBACK_SMTP_REPLY_TIMEOUT)
            local.connection = connection
            local.key = key
        local.used_at = time.monotonic()
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()

    def send(self, message: OutboundMessage) -> None:
        self.send_email(build_email(message))

    def send_email(self, email: EmailMessage) -> None:
        """Hand one prepared email to the server on this thread's connection."""
        try:
            connection = self._open()
            connection.send_messages([email])
        except (OSError, ValueError, smtplib.SMTPException) as exc:
            # After any failure the session's state is unknown: start afresh.
            self.close()
            raise delivery_error(exc) from exc
        self._local.used_at = time.monotonic()


_adapter = EmailAdapter()


def email_adapter() -> EmailAdapter:
    """The process's one email adapter (its connections are per thread)."""
    return _adapter
