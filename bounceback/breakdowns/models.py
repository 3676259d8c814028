"""Breakdowns: one failure hitting many customers at once, and the recovery from it.

Life of a breakdown: declared (scope set, affected customers found and
previewed, nothing sent) -> recovering (outreach confirmed; checklist running)
-> all clear (fixed; linked cases move to follow-up) -> closed (review done).
A declared breakdown that turns out to be a false alarm is cancelled instead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity


class BreakdownQuerySet(models.QuerySet["Breakdown"]):
    def active(self) -> BreakdownQuerySet:
        return self.filter(status__in=[Breakdown.Status.DECLARED, Breakdown.Status.RECOVERING])


class Breakdown(models.Model):
    class Status(models.TextChoices):
        DECLARED = "declared", "Declared"
        RECOVERING = "recovering", "Recovering"
        ALL_CLEAR = "all_clear", "All clear"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        STAFF = "staff", "Declared by staff"
        DETECTION = "detection", "Proposed by detection"

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What happened, for staff.")
    playbook_version = models.ForeignKey(
        "playbooks.PlaybookVersion", on_delete=models.PROTECT, related_name="breakdowns"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DECLARED)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    # Scope: who is affected is every customer with a transaction matching all of these.
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="breakdowns"
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField(null=True, blank=True)
    product = models.CharField(max_length=200, blank=True)
    # {"kind": [...], "status": [...], "attributes": {"depot": "..."}}
    transaction_filter = models.JSONField(default=dict, blank=True)
    affected_count = models.PositiveIntegerField(default=0)
    outreach_paused = models.BooleanField(default=False)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    all_clear_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    all_clear_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BreakdownQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at", "-id"]
        permissions = [
            ("declare_breakdown", "Can declare breakdowns and run their outreach"),
            ("work_breakdown", "Can tick off breakdown checklist actions"),
        ]
        indexes = [models.Index(fields=["status", "-declared_at"])]

    def __str__(self) -> str:
        return f"{self.reference or self.pk}: {self.title}"


class AffectedCustomer(models.Model):
    """A customer hit by the breakdown, and how far their outreach has got.

    Whether the message was delivered is the outbox row's state (`message`);
    `state` records what the breakdown decided for this customer.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Not contacted yet"
        QUEUED = "queued", "Message queued"
        LINKED = "linked", "Already had an open case: linked, not contacted again"
        UNREACHABLE = "unreachable", "No deliverable address: call them"
        EXCLUDED = "excluded", "Left out by staff"

    # No index of its own: the composite indexes below start with it.
    breakdown = models.ForeignKey(
        Breakdown, on_delete=models.CASCADE, related_name="affected", db_index=False
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    channel = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=20, blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "outbox.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contacted_at = models.DateTimeField(null=True, blank=True)
    # The newest BreakdownMessage (status update, all-clear) this customer's case has
    # been sent: a wave goes out in chunks, and this is how far it got. A plain
    # number, not a foreign key, so marking 100,000 rows costs no key checks.
    last_wave = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["breakdown", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["breakdown", "customer"], name="affected_customer_once_per_breakdown"
            )
        ]
        indexes = [
            # The outreach claims PENDING rows in id order; counts group by state.
            models.Index(fields=["breakdown", "state", "id"], name="affected_state_idx"),
            # Waves claim rows in id order; the affected list pages by id.
            models.Index(fields=["breakdown", "id"], name="affected_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.breakdown_id} ({self.state})"


class BreakdownAction(models.Model):
    """One item of the playbook's checklist, instantiated for this breakdown, with a timer."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CLOSED = "closed", "Closed at the all-clear"

    breakdown = models.ForeignKey(Breakdown, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    target_minutes = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["breakdown", "position", "id"]

    def __str__(self) -> str:
        return self.title


class BreakdownEvent(models.Model):
    """One line of the breakdown's timeline, written only by breakdowns/timeline.py
    (the review reads these)."""

    class Kind(models.TextChoices):
        DECLARED = "declared", "Declared"
        RESCOPED = "rescoped", "Scope changed"
        CUSTOMER_EXCLUDED = "customer_excluded", "Customer left out"
        CUSTOMER_INCLUDED = "customer_included", "Customer included again"
        OUTREACH_CONFIRMED = "outreach_confirmed", "Outreach confirmed"
        OUTREACH_WAVE = "outreach_wave", "Outreach messages queued"
        OUTREACH_COMPLETE = "outreach_complete", "Outreach complete"
        OUTREACH_PAUSED = "outreach_paused", "Outreach paused"
        OUTREACH_RESUMED = "outreach_resumed", "Outreach resumed"
        OUTREACH_STALLED = "outreach_stalled", "Outreach stalled"
        OUTREACH_MOVING = "outreach_moving", "Outreach moving again"
        ACTION_DONE = "action_done", "Checklist action done"
        ACTION_BREACHED = "action_breached", "Checklist action overdue"
        ACTION_ESCALATED = "action_escalated", "Checklist action escalated"
        UPDATE_SENT = "update_sent", "Status update sent"
        ALL_CLEAR = "all_clear", "All-clear given"
        ALL_CLEAR_SENT = "all_clear_sent", "All-clear sent to everyone"
        CANCELLED = "cancelled", "Cancelled"
        REVIEW_SAVED = "review_saved", "Review saved"
        REVIEW_COMPLETED = "review_completed", "Review completed"
        REVIEW_ACTION_ITEM = "review_action_item", "Review action item"
        REVIEW_FAILURE_MODE = "review_failure_mode", "Failure mode proposed from the review"
        CASES_DOCUMENTED = "cases_documented", "Cases documented from the review"
        CASES_FOLLOWED_UP = "cases_followed_up", "Follow-ups sent as one wave"
        CASES_CLOSED = "cases_closed", "Cases closed together"
        CASE_LINKED = "case_linked", "Case linked"
        CASE_UNLINKED = "case_unlinked", "Case unlinked"

    breakdown = models.ForeignKey(Breakdown, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # The API token another system acted through, when one did (the actor is its creator).
    token = models.ForeignKey(
        "apitokens.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["breakdown", "at"])]

    def __str__(self) -> str:
        return f"{self.breakdown_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class BreakdownMessage(models.Model):
    """A message sent to every affected customer at once: outreach, status update, all-clear.

    Each is one wave; its outbox rows carry `batch` so progress can be counted.
    """

    class Kind(models.TextChoices):
        OUTREACH = "outreach", "Outreach"
        STATUS_UPDATE = "status_update", "Status update"
        ALL_CLEAR = "all_clear", "All-clear"

    class State(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    breakdown = models.ForeignKey(Breakdown, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    batch = models.CharField(max_length=60, unique=True)
    recipients = models.PositiveIntegerField(default=0)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    # A wave to many customers is written in chunks by a background job: SENDING
    # until every case has it (then `recipients` is final and finished_at set).
    state = models.CharField(max_length=8, choices=State.choices, default=State.SENT)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["breakdown", "sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.breakdown_id} {self.kind} {self.sent_at:%Y-%m-%d %H:%M}"


class BreakdownReview(models.Model):
    """The post-incident review: the figures come from the rows; people write the lessons."""

    breakdown = models.OneToOneField(Breakdown, on_delete=models.CASCADE, related_name="review")
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    # The root cause the review found: it documents every case of the breakdown at once.
    root_cause = models.TextField(blank=True)
    what_was_done = models.TextField(blank=True)
    prevention_idea = models.TextField(blank=True)
    actual_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    cost_currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Review of {self.breakdown}"


class ReviewActionItem(models.Model):
    """A lesson to act on; it can become a failure-mode proposal or a playbook change."""

    class Kind(models.TextChoices):
        FAILURE_MODE = "failure_mode", "New failure mode"
        PLAYBOOK_CHANGE = "playbook_change", "Playbook change"
        OTHER = "other", "Other"

    review = models.ForeignKey(
        BreakdownReview, on_delete=models.CASCADE, related_name="action_items"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done = models.BooleanField(default=False)
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_action_items",
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_action_items",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review", "id"]

    def __str__(self) -> str:
        return self.text[:60]
