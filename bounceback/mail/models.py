from __future__ import annotations

from django.conf import settings
from django.db import models


class InboundEmailQuerySet(models.QuerySet["InboundEmail"]):
    def without_raw(self) -> InboundEmailQuerySet:
        """Lists never need the stored bytes (up to the message size limit each)."""
        return self.defer("raw")

    def held_first(self) -> InboundEmailQuerySet:
        held = models.Case(
            models.When(state=InboundEmail.State.HELD, then=models.Value(0)),
            default=models.Value(1),
            output_field=models.IntegerField(),
        )
        return self.order_by(held, "-received_at", "-id")


class InboundEmail(models.Model):
    """One received email, stored once, with what intake decided about it.

    The raw bytes are kept so a held message can be downloaded and looked at
    exactly as it arrived; the other columns are what the parser understood.
    """

    class State(models.TextChoices):
        ACCEPTED = "accepted", "Accepted into a case"
        IGNORED = "ignored", "Ignored (auto-reply, bounce or loop)"
        HELD = "held", "Held for a person"
        RELEASED = "released", "Released into a case"
        DISCARDED = "discarded", "Discarded"

    class Kind(models.TextChoices):
        NORMAL = "normal", "Normal"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        BOUNCE = "bounce", "Bounce"
        LOOP = "loop", "Mail loop"
        MALFORMED = "malformed", "Malformed"
        OVERSIZED = "oversized", "Too big"

    source = models.CharField(max_length=200)
    message_id = models.CharField(max_length=300, blank=True)
    raw_sha256 = models.CharField(max_length=64, unique=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    from_address = models.CharField(max_length=320, blank=True, db_index=True)
    from_name = models.CharField(max_length=200, blank=True)
    to_addresses = models.JSONField(default=list, blank=True)
    cc_addresses = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    in_reply_to = models.CharField(max_length=300, blank=True)
    references = models.TextField(blank=True)
    body_text = models.TextField(blank=True, help_text="The whole text, quoted history included.")
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NORMAL)
    reason = models.TextField(blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_emails",
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_email",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # The same message delivered twice (two routes, a re-polled
            # mailbox) is stored once, even when two receivers race.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="mail_in_message_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-received_at"], name="mail_in_state_idx"),
            models.Index(fields=["from_address", "received_at"], name="mail_in_sender_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_address or '(no sender)'}: {self.subject or '(no subject)'}"


class EmailAttachment(models.Model):
    """A file that came with an email; skipped ones are listed with the reason, not stored."""

    inbound_email = models.ForeignKey(
        InboundEmail, on_delete=models.CASCADE, related_name="attachments"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="email_attachments",
    )
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    content = models.BinaryField(null=True, blank=True)
    skipped = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class MailboxCursor(models.Model):
    """How far a polled mailbox has been read (the IMAP poller keeps it)."""

    name = models.CharField(max_length=300, unique=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
