"""Recovery funds: allowances, grants (gestures to customers), approvals, vouchers and the ledger.

Rules for writers (everything goes through funds/services.py):
- The ledger is append-only. A person's balance for a period is the sum of
  their ledger rows counted against their allowance; nothing else stores it.
- Grants change state only through the services, which write the ledger row
  for every step that moves money (a grant taking effect, an approval, a
  reduction, a reversal) and a zero row for a refusal, so every decision is in it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from bounceback.accounts.roles import Role
from bounceback.playbooks.models import CompensationKind


class Period(models.TextChoices):
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


# What a role may give when nobody has written its policy yet: (per case,
# period budget, period). Executives stop at the Ritz-Carlton figure per case.
DEFAULT_POLICIES: dict[str, tuple[Decimal, Decimal, str]] = {
    Role.AGENT: (Decimal("150.00"), Decimal("1500.00"), Period.MONTH),
    Role.LEAD: (Decimal("500.00"), Decimal("5000.00"), Period.MONTH),
    Role.MANAGER: (Decimal("2000.00"), Decimal("20000.00"), Period.MONTH),
    Role.EXECUTIVE: (Decimal("2000.00"), Decimal("100000.00"), Period.MONTH),
    Role.ADMIN: (Decimal("2000.00"), Decimal("100000.00"), Period.MONTH),
}


class AllowancePolicy(models.Model):
    """What everyone in a role may grant without asking (see DEFAULT_POLICIES when absent)."""

    role = models.CharField(max_length=20, choices=Role.choices, unique=True)
    per_case_limit = models.DecimalField(max_digits=12, decimal_places=2)
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTH)
    period_budget = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["role"]
        verbose_name_plural = "allowance policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(per_case_limit__gte=0, period_budget__gte=0),
                name="allowance_policy_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.per_case_limit}/case, {self.period_budget}/{self.period}"


class AllowanceOverride(models.Model):
    """One person's own figures; a blank field falls back to their role's policy."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="allowance_override"
    )
    per_case_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    period_budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    period = models.CharField(max_length=10, choices=Period.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"override for {self.user_id}"


class GrantQuerySet(models.QuerySet["Grant"]):
    def in_effect(self) -> GrantQuerySet:
        return self.filter(state=Grant.State.GRANTED)

    def exceptions(self) -> GrantQuerySet:
        return self.filter(exception_to_policy=True)

    def real(self) -> GrantQuerySet:
        """Gestures on real cases: a drill's (bounceback/drills) count in no report."""
        return self.filter(case__drill__isnull=True)


class Grant(models.Model):
    """A gesture made to a customer on a case.

    In effect, waiting for approval, refused or reversed (`state`).
    """

    Kind = CompensationKind

    class State(models.TextChoices):
        GRANTED = "granted", "Granted"
        PENDING = "pending_approval", "Waiting for approval"
        REFUSED = "refused", "Refused"
        REVERSED = "reversed", "Reversed"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="grants")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants_made"
    )
    kind = models.CharField(max_length=20, choices=CompensationKind.choices)
    # For a reduced approval this is the decided value; the request keeps what was asked.
    value = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    # Non-monetary gestures (an upgrade, a gift) carry an estimate of their worth.
    estimated = models.BooleanField(default=False)
    reason = models.TextField()
    customer_proposed = models.BooleanField(default=False)
    message = models.TextField(blank=True, help_text="What the customer is told, if anything.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.GRANTED)
    exception_to_policy = models.BooleanField(default=False)
    policy_bent = models.CharField(max_length=300, blank=True)
    # Spent under a playbook's pre-approved compensation for the customer's segment.
    pre_approved = models.BooleanField(default=False)
    playbook_compensation = models.ForeignKey(
        "playbooks.PlaybookCompensation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Copied from the case and the granter when granted, so reports never join through them.
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grants",
    )
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversal_reason = models.TextField(blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("reverse_grant", "Can reverse a grant"),
            ("view_exceptions", "Can see every exception to policy"),
        ]
        indexes = [
            models.Index(fields=["case", "granted_by", "state"]),
            models.Index(fields=["state", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gt=0), name="grant_value_positive")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} {self.currency} on case {self.case_id}"


class ApprovalRequest(models.Model):
    """A grant above its granter's allowance, waiting on someone at `level`.

    Its timer (subject "approval", kind "decide") moves it one level up each
    time it runs out; `due_at` mirrors that timer so queues sort without a join.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REDUCED = "reduced", "Approved at a lower value"
        REFUSED = "refused", "Refused"

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="approval")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals_requested"
    )
    level = models.CharField(max_length=20, choices=Role.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    asked_value = models.DecimalField(max_digits=12, decimal_places=2)
    why = models.CharField(max_length=300, help_text="Which limit the grant goes over.")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approvals_decided",
    )
    decided_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        permissions = [("decide_approvalrequest", "Can approve, reduce or refuse a grant")]
        indexes = [models.Index(fields=["state", "level"])]

    def __str__(self) -> str:
        return f"approval {self.pk} for grant {self.grant_id} ({self.state})"


class Voucher(models.Model):
    """A code the customer spends at a till or booking system, once, before it expires."""

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="voucher")
    code = models.CharField(max_length=20, unique=True)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.CharField(max_length=120, blank=True, help_text="The till or system.")
    redeemed_reference = models.CharField(max_length=120, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("redeem_voucher", "Can redeem a voucher")]

    def __str__(self) -> str:
        return self.code


class LedgerEntryQuerySet(models.QuerySet["LedgerEntry"]):
    def real(self) -> LedgerEntryQuerySet:
        """Rows of real cases: a drill's gestures (bounceback/drills) move no balance."""
        return self.filter(grant__case__drill__isnull=True)


class LedgerEntry(models.Model):
    """One movement of recovery money; append-only.

    `person` is whose allowance the row counts against (the granter, also for
    spend an approver allowed); `actor` is who made the step happen.
    `pre_approved` rows are a playbook's money: in every report, never in a
    person's spent figure.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        APPROVAL = "approval", "Approval"
        REDUCTION = "reduction", "Approval at a lower value"
        REFUSAL = "refusal", "Refusal"
        REVERSAL = "reversal", "Reversal"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="ledger_entries")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Signed: spend is positive, a reversal negative, a refusal zero.
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    pre_approved = models.BooleanField(default=False)
    # First day of the allowance period the row counts in (a reversal counts in its grant's).
    period_start = models.DateField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["person", "period_start"]),
            models.Index(fields=["period_start"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.person_id})"
