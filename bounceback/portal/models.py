"""What the public side keeps: form submissions, magic links and survey invitations.

Tokens are never stored in the clear: a link or invitation holds the SHA-256
of its token, so a leaked database does not let anyone into a customer's portal.
"""

from __future__ import annotations

from django.db import models


class WebFormSubmission(models.Model):
    """One public request: a report through the form, or a portal link asked for.

    Rate limits count these rows (not a cache), so the limit holds across every
    web process and survives restarts.
    """

    class Kind(models.TextChoices):
        REPORT = "report", "Report form"
        LOGIN = "login", "Portal link request"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        RATE_LIMITED = "rate_limited", "Rate limited"
        HONEYPOT = "honeypot", "Caught by the honeypot"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPORT)
    email = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="What was submitted.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="web_submissions",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "ip", "created_at"], name="portal_sub_ip_idx"),
            models.Index(fields=["kind", "email", "created_at"], name="portal_sub_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.email or self.ip} ({self.outcome})"


class PortalLink(models.Model):
    """A one-time magic link into a customer's portal."""

    class Purpose(models.TextChoices):
        REPORT = "report", "After a web form report"
        LOGIN = "login", "Asked for on the portal"
        NOTICE = "notice", "With a message sent by web"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Portal link for customer {self.customer_id} ({self.purpose})"


class SurveyInvitation(models.Model):
    """The follow-up survey link sent with a case's follow-up message.

    Answered once: `used_at` is set under a row lock in the same transaction
    that records the answer on the case.
    """

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # {"satisfaction": 1-5, "will_return": true/false/null, "comment": "..."}
    answers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Survey for case {self.case_id}"
