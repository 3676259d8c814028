from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from bounceback.customers.models import Channel


class Severity(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RecoveryPolicy(models.Model):
    """Recovery targets for one severity: the timers every case of it runs on.

    One row per severity; managers edit them. The defaults are the 20-minute
    rule (fix or update within 20 minutes, then update every 20) and a day's
    cool-off before the follow-up.
    """

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True)
    apologise_minutes = models.PositiveIntegerField(default=60)
    fix_minutes = models.PositiveIntegerField(default=20)
    update_minutes = models.PositiveIntegerField(default=20)
    cool_off_hours = models.PositiveIntegerField(default=24)
    follow_up_hours = models.PositiveIntegerField(
        default=24, help_text="Time to send the follow-up once the cool-off is over."
    )
    document_hours = models.PositiveIntegerField(default=72)
    warn_percent = models.PositiveSmallIntegerField(default=75)
    apology_threshold = models.PositiveSmallIntegerField(
        default=70, help_text="Coach score below which sending an apology needs an override."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "recovery policies"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Recovery policy for {self.get_severity_display().lower()} cases"


# The predicate of the inbox's partial indexes; `CaseQuerySet.open()` filters
# with exactly this expression so both databases match the index to the query.
OPEN = ~models.Q(status="closed")


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(OPEN)

    def breached(self) -> CaseQuerySet:
        return self.filter(breach_count__gt=0)

    def real(self) -> CaseQuerySet:
        """Cases of real customers: every case but a drill's (bounceback/drills).

        Reports, the catalog's occurrence counts, loyalty figures and spike
        detection read through this, so practice never shows up as failure.
        """
        return self.filter(drill__isnull=True)

    def for_user(self, user: object) -> CaseQuerySet:
        """Cases assigned to the user or to their team."""
        team_id = getattr(user, "team_id", None)
        match = models.Q(assignee=user)
        if team_id:
            match |= models.Q(team_id=team_id)
        return self.filter(match)


class Case(models.Model):
    """One service failure felt by one customer, and its recovery."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        APOLOGISED = "apologised", "Apologised"
        IN_REVIEW = "in_review", "In review"
        FIXING = "fixing", "Fixing"
        FIXED = "fixed", "Fixed"
        FOLLOWING_UP = "following_up", "Following up"
        WAITING = "waiting", "Waiting on customer"
        CLOSED = "closed", "Closed"

    # Unique through Meta.constraints: a UniqueConstraint has no second LIKE index on
    # PostgreSQL (references are only ever looked up whole). The foreign keys that
    # lead a composite index below carry no index of their own: each index is
    # upkeep on every insert, and an outreach inserts 100,000 cases.
    reference = models.CharField(max_length=20, null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="The complaint in the customer's words.")
    # What went wrong, from the failure-mode catalog: this is what keeps the
    # catalog's occurrence estimates honest.
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    breakdown = models.ForeignKey(
        "breakdowns.Breakdown",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    # Opened by us, before the customer complained (a breakdown's outreach).
    proactive = models.BooleanField(default=False)
    # A drill's case (set by case_open from the drill's synthetic customer):
    # worked in the normal pages under a banner, counted in no report.
    drill = models.ForeignKey(
        "drills.Drill",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # The status to return to when the customer answers a waiting case.
    status_before_wait = models.CharField(max_length=20, choices=Status.choices, blank=True)
    breach_count = models.PositiveIntegerField(default=0)
    # Share of the recovery policy's times this case's timers run on, fixed at
    # open from the customer's segments so later steps need not look them up.
    timer_percent = models.PositiveSmallIntegerField(default=100)

    # Step 1: apologise.
    apologised_at = models.DateTimeField(null=True, blank=True)
    apology_score = models.PositiveSmallIntegerField(null=True, blank=True)
    # Step 2: review, in the customer's own view.
    what_went_wrong = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    proposed_fix = models.TextField(blank=True)
    proposal_accepted = models.BooleanField(null=True, blank=True)
    proposal_response = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Step 3: fix.
    last_update_at = models.DateTimeField(null=True, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    fix_summary = models.TextField(blank=True)
    # Step 4: follow up.
    follow_up_sent_at = models.DateTimeField(null=True, blank=True)
    follow_up_recorded_at = models.DateTimeField(null=True, blank=True)
    satisfied = models.BooleanField(null=True, blank=True)
    will_return = models.BooleanField(null=True, blank=True)
    follow_up_comment = models.TextField(blank=True)
    # Step 5: document.
    root_cause = models.TextField(blank=True)
    what_was_done = models.TextField(blank=True)
    prevention_idea = models.TextField(blank=True)
    documented_at = models.DateTimeField(null=True, blank=True)

    closed_at = models.DateTimeField(null=True, blank=True)
    # The earliest due time among the case's running or breached timers not yet
    # met (NULL when none runs, e.g. while waiting on the customer). Kept by the
    # timers services through `cases.inbox.cases_next_due_refresh` in the
    # transaction that changes a timer, so the inbox sorts on an index instead
    # of looking up timers for every open case.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # Complaints imported from another system: where from and its id there, so a
    # re-import updates the case instead of adding a second one.
    external_source = models.CharField(max_length=60, blank=True)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    # The sender's own filing (a regulator's "Issue", a helpdesk's category) and
    # product, for discovery's counts beside the failure mode.
    category = models.CharField(max_length=120, blank=True)
    product = models.CharField(max_length=200, blank=True)
    # 0 (not negative) to 1 (very negative), of the description; None before scoring.
    negativity = models.FloatField(null=True, blank=True)
    # A duplicate merged into another case: closed, its timers paused, its
    # timeline shown on the case it joined; split back restores the status.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )
    status_before_merge = models.CharField(max_length=20, choices=Status.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["team", "status"]),
            models.Index(fields=["customer", "-created_at"]),
            # The inbox: open cases by next due time (id breaks ties), for all
            # open cases, one assignee's (NULL: unassigned) and one team's.
            models.Index(fields=["next_due_at", "id"], name="case_open_due_idx", condition=OPEN),
            models.Index(
                fields=["assignee", "next_due_at", "id"],
                name="case_open_assignee_due_idx",
                condition=OPEN,
            ),
            models.Index(
                fields=["team", "next_due_at", "id"], name="case_open_team_due_idx", condition=OPEN
            ),
            # Small ones for the views whose rows are few among the open cases:
            # walking the big index for them would read most open cases.
            models.Index(
                fields=["next_due_at", "id"],
                name="case_waiting_due_idx",
                condition=models.Q(status="waiting"),
            ),
            models.Index(
                fields=["next_due_at", "id"],
                name="case_open_breached_due_idx",
                condition=OPEN & models.Q(breach_count__gt=0),
            ),
            # A breakdown's page lists its (up to 100,000) cases newest first.
            models.Index(fields=["breakdown", "-created_at", "-id"], name="case_breakdown_idx"),
            # The catalog counts each failure mode's cases (and their breakdowns) over a
            # period, from the index alone. Partial: cases without a mode (most, and all
            # of an outreach's) cost it nothing to insert.
            models.Index(
                fields=["failure_mode", "created_at", "breakdown"],
                name="case_failure_mode_period_idx",
                condition=models.Q(failure_mode__isnull=False),
            ),
            # The dashboards (issue 17) aggregate the cases opened in a period, and the
            # follow-up answers given in one, by failure mode, fix time, site, team and
            # customer (and drill, which they leave out): these cover every column those
            # aggregates read, so a period of
            # 25,000 cases is read from the index alone, never from the table.
            models.Index(
                fields=[
                    "created_at",
                    "failure_mode",
                    "fixed_at",
                    "site",
                    "team",
                    "customer",
                    "drill",
                ],
                name="case_dashboard_opened_idx",
            ),
            models.Index(
                fields=[
                    "follow_up_recorded_at",
                    "satisfied",
                    "will_return",
                    "assignee",
                    "site",
                    "team",
                    "customer",
                    "drill",
                ],
                name="case_dashboard_answered_idx",
                condition=models.Q(follow_up_recorded_at__isnull=False),
            ),
            # The home's "closed in the last 30 days": a range count, not a table scan.
            models.Index(
                fields=["closed_at"],
                name="case_closed_idx",
                condition=models.Q(closed_at__isnull=False),
            ),
            # Only drill cases carry one: a tiny index, no upkeep for real cases.
            models.Index(
                fields=["drill"], name="case_drill_idx", condition=models.Q(drill__isnull=False)
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="case_reference_unique"),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="case_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or self.pk}: {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def age(self) -> timedelta:
        return (self.closed_at or timezone.now()) - self.created_at


class CaseViewer(models.Model):
    """Who had the case page open, and when last: the "a colleague is on it" warning.

    One row per person and case, refreshed each time they open the page; rows
    older than CASE_PRESENCE_MINUTES mean nothing and are cleared hourly.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="viewers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "user"], name="case_viewer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.case_id} at {self.seen_at:%H:%M}"


class CaseLink(models.Model):
    """Two cases that belong together (the same failure, a duplicate, a follow-on)."""

    class Kind(models.TextChoices):
        RELATED = "related", "Related"
        DUPLICATE = "duplicate", "Duplicate of"
        FOLLOWS = "follows", "Follows from"

    from_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_out")
    to_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.RELATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_case", "to_case"], name="case_link_unique"),
            models.CheckConstraint(
                condition=~models.Q(from_case=models.F("to_case")), name="case_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_case_id} {self.kind} {self.to_case_id}"


class CaseEvent(models.Model):
    """One entry of the case's timeline and audit trail, written only by cases/timeline.py.

    `data` holds what changed as {"field": [before, after]} where that applies.
    """

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        IMPORTED = "imported", "Imported"
        ASSIGNED = "assigned", "Assigned"
        UPDATED = "updated", "Details changed"
        LINKED = "linked", "Linked to a case"
        APOLOGISED = "apologised", "Apology sent"
        REVIEWED = "reviewed", "Reviewed with the customer"
        UPDATE_SENT = "update_sent", "Progress update sent"
        FIXED = "fixed", "Fixed"
        FOLLOW_UP_SENT = "follow_up_sent", "Follow-up sent"
        FOLLOW_UP_RECORDED = "follow_up_recorded", "Follow-up answer"
        RECOVERY_REOPENED = "recovery_reopened", "Recovery reopened"
        DOCUMENTED = "documented", "Documented"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"
        WAITING = "waiting", "Waiting on the customer"
        RESUMED = "resumed", "Resumed"
        CUSTOMER_MESSAGE = "customer_message", "Customer wrote"
        CALL_LOGGED = "call_logged", "Call logged"
        TIMER_BREACHED = "timer_breached", "Target missed"
        ESCALATED = "escalated", "Escalated"
        LINKED_TO_BREAKDOWN = "linked_to_breakdown", "Linked to a breakdown"
        UNLINKED_FROM_BREAKDOWN = "unlinked_from_breakdown", "Unlinked from a breakdown"
        COMPENSATION_GRANTED = "compensation_granted", "Gesture granted"
        COMPENSATION_REQUESTED = "compensation_requested", "Gesture awaiting approval"
        COMPENSATION_ESCALATED = "compensation_escalated", "Gesture approval moved up"
        COMPENSATION_REFUSED = "compensation_refused", "Gesture refused"
        COMPENSATION_REVERSED = "compensation_reversed", "Gesture reversed"
        # Staff talking to staff: never sent, never shown in the portal or an email.
        NOTE = "note", "Internal note"
        MERGED = "merged", "Merged into another case"
        MERGED_IN = "merged_in", "A duplicate merged in"
        SPLIT = "split", "Split back out"

    # Indexed by (case, at) below.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
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
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class CaseBulkRun(models.Model):
    """A bulk action on more cases than a request should wait for, worked through in chunks
    by the `cases_bulk` background job.

    The row owns the work: what to do (`action`, `params`), to which cases
    (`case_ids`, in id order), how far it got (`position`: the cases before it
    are done or refused, each chunk committed with its cases) and what came of
    it. A worker killed mid-chunk leaves `position` where the chunk began, and
    the job goes on from there.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    action = models.CharField(max_length=20)
    # What the action needs, by id and text (assignee_id, failure_mode_id,
    # link_to_id, body, channel, early_reason and the documentation).
    params = models.JSONField(default=dict, blank=True)
    case_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    # The first refusals ({case_id, reference, code, message, field}, in case
    # order), and how many there were in all.
    refused = models.JSONField(default=list, blank=True)
    refused_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.ForeignKey(
        "apitokens.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    # Where the person who asked goes back to (a breakdown's review, the inbox).
    back_url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.total} cases ({self.state})"

    @property
    def label(self) -> str:
        from bounceback.cases.services import BulkAction

        return BulkAction.LABELS.get(self.action, self.action)

    @property
    def percent(self) -> int:
        return int(100 * self.position / self.total) if self.total else 100

    def summary(self) -> str:
        """One sentence on where the run is, for a flash message or a notification."""
        from bounceback.cases.services import BulkAction

        what = f"{self.label} on {self.total:,} cases"
        if self.state == self.State.RUNNING:
            return (
                f"{what}: working through them in the background "
                f"({self.position:,} done so far); you will be told when it ends."
            )
        n, k = self.done_count, self.refused_count
        said = f"{what} finished: {n:,} case{'s' if n != 1 else ''} {BulkAction.DONE[self.action]}."
        if k:
            said += f" {k:,} case{'s' if k != 1 else ''} not (see why on the run's page)."
        return said
