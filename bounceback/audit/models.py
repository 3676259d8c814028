from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """A security-relevant action: sign-ins, token and permission changes, imports.

    Rows are append-only; nothing in the product updates or deletes them.
    """

    class Action(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOGIN_THROTTLED = "login_throttled", "Sign-in throttled"
        LOGOUT = "logout", "Signed out"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        USER_CREATED = "user_created", "User created"
        ROLE_CHANGED = "role_changed", "Role changed"
        PERMISSIONS_CHANGED = "permissions_changed", "Permissions changed"
        TEAM_CHANGED = "team_changed", "Team changed"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        IMPORT_RUN = "import_run", "Import run"
        POLICY_CHANGED = "policy_changed", "Recovery policy changed"
        FAILURE_MODE_ACCEPTED = "failure_mode_accepted", "Failure mode accepted"
        FAILURE_MODE_REJECTED = "failure_mode_rejected", "Failure mode rejected"
        FAILURE_MODE_RESCORED = "failure_mode_rescored", "Failure mode re-scored"
        FAILURE_MODE_RETIRED = "failure_mode_retired", "Failure mode retired"
        PLAYBOOK_CREATED = "playbook_created", "Playbook created"
        PLAYBOOK_REVISED = "playbook_revised", "Playbook revised"
        PLAYBOOK_DETAILS_CHANGED = "playbook_details_changed", "Playbook details changed"
        PLAYBOOK_ARCHIVED = "playbook_archived", "Playbook archived"
        PLAYBOOK_RESTORED = "playbook_restored", "Playbook restored"
        EMAIL_RELEASED = "email_released", "Held email released"
        EMAIL_DISCARDED = "email_discarded", "Held email discarded"
        WEBHOOK_CREATED = "webhook_created", "Webhook subscription created"
        WEBHOOK_CHANGED = "webhook_changed", "Webhook subscription changed"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook subscription disabled"
        WEBHOOK_ENABLED = "webhook_enabled", "Webhook subscription re-enabled"
        CHANNEL_CREATED = "channel_created", "Inbound channel created"
        CHANNEL_CHANGED = "channel_changed", "Inbound channel changed"
        CHANNEL_SECRET_ROTATED = "channel_secret_rotated", "Inbound channel secret rotated"
        CHANNEL_PREVIOUS_SECRET_REVOKED = (
            "channel_previous_secret_revoked",
            "Inbound channel's previous secret revoked",
        )
        ALLOWANCE_CHANGED = "allowance_changed", "Allowance changed"
        GRANT_REVERSED = "grant_reversed", "Grant reversed"
        SEGMENT_CREATED = "segment_created", "Segment created"
        SEGMENT_CHANGED = "segment_changed", "Segment changed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text as well so the log still says who it was after a user is deleted.
    actor_label = models.CharField(max_length=200, blank=True)
    # The API token another system acted through, when one did (the actor is its creator).
    token = models.ForeignKey(
        "apitokens.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.actor_label} {self.target}"
