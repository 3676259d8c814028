"""Discovery: rules that turn signals, new cases and new messages into action,
and suspected breakdowns.

A rule is a manager's standing order ("an NPS of 6 or less opens a case", "a
very negative message mentioning a site alerts the managers"): conditions over
a signal, a new case or a customer's new message and its customer, one action,
a window in which a customer gets at most one action from it. Every edit
writes a RuleVersion, and each firing is kept (RuleFiring), so what a rule did
is always on record.

A suspected breakdown is one spike found by the scan: a series (cases and
signals per category, site, product or channel) whose count of distinct
customers in an hour or a day is far above its own weekday-and-hour baseline.
It is updated while the spike lasts and cools down after; one click declares a
breakdown from it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Rule(models.Model):
    class Action(models.TextChoices):
        OPEN_CASE = "open_case", "Open a case"
        PROACTIVE_CONTACT = "proactive_contact", "Open a proactive case and contact the customer"
        ALERT_ROLE = "alert_role", "Alert a role"

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="Rules run in this order.")
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    # {"all": [...]} or {"any": [...]} of conditions or nested groups; a condition
    # is {"field": "nps", "op": "<=", "value": 6}. See discovery/rules.py.
    conditions = models.JSONField(default=dict)
    # What the rule looks at: signals as they are recorded, cases as they are
    # opened, customers' messages as they arrive (the last two through a job).
    on_signals = models.BooleanField(default=True)
    on_cases = models.BooleanField(default=False)
    on_messages = models.BooleanField(default=False)
    action = models.CharField(max_length=20, choices=Action.choices)
    # severity, failure_mode_id, team_id, assignee_id, playbook_id, role, summary
    action_params = models.JSONField(default=dict, blank=True)
    window_hours = models.PositiveIntegerField(
        default=72, help_text="At most one case per customer from this rule in this window."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        permissions = [("manage_rule", "Can write and switch discovery rules")]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="rule_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.number}"


class RuleFiring(models.Model):
    """What a rule did for one signal, new case or message (or why it held back)."""

    class Outcome(models.TextChoices):
        CASE_OPENED = "case_opened", "Opened a case"
        CASE_ROUTED = "case_routed", "Raised or routed the case"
        CONTACTED = "contacted", "Opened a proactive case and contacted the customer"
        ALERTED = "alerted", "Alerted a role"
        HELD_BACK = "held_back", "Held back: already acted for this customer in the window"
        FAILED = "failed", "Could not act"

    class Input(models.TextChoices):
        SIGNAL = "signal", "Signal"
        CASE = "case", "New case"
        MESSAGE = "message", "Customer message"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    rule_version = models.PositiveIntegerField()
    # What the rule looked at: a signal, a new case (then `case`) or a message.
    input = models.CharField(max_length=10, choices=Input.choices, default=Input.SIGNAL)
    signal = models.ForeignKey(
        "signals.Signal", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # Why a contact went out differently or not at all ("no address: call them").
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["rule", "customer", "-at"], name="rule_firing_window_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.outcome}"


class RuleInput(models.Model):
    """A new case or customer message waiting for the rules: the work list of the
    `discovery_rules` job, written in the transaction that stored the case or
    message, so a worker that dies leaves it here to be done again."""

    input = models.CharField(max_length=10, choices=RuleFiring.Input.choices)
    object_id = models.BigIntegerField()
    marked_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["input", "object_id"], name="rule_input_unique")
        ]

    def __str__(self) -> str:
        return f"{self.input} {self.object_id}"


class SuspectedBreakdown(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Rising now"
        ENDED = "ended", "Ended (cooling down)"
        DECLARED = "declared", "Declared a breakdown"
        DISMISSED = "dismissed", "Dismissed"

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    # The series: which dimension and value, counted in hourly or daily buckets.
    dimension = models.CharField(max_length=20)
    value = models.CharField(max_length=200)
    bucket = models.CharField(max_length=5)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    first_bucket_at = models.DateTimeField()
    last_bucket_at = models.DateTimeField(db_index=True)
    peak_count = models.PositiveIntegerField()
    baseline = models.FloatField()
    # How unlikely the peak is under the baseline (Poisson upper tail).
    p_value = models.FloatField()
    # Buckets of the series around the spike: [[iso time, count, baseline], ...]
    evidence = models.JSONField(default=dict)
    cool_down_until = models.DateTimeField(null=True, blank=True)
    breakdown = models.ForeignKey(
        "breakdowns.Breakdown",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suspicions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_bucket_at", "-id"]
        indexes = [
            models.Index(
                fields=["dimension", "value", "bucket", "status"], name="suspect_series_idx"
            )
        ]
        permissions = [("view_discovery", "Can see the discovery page")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.dimension} {self.value}"
