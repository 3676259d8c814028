"""Roll-ups the dashboards keep so their figures stay fast at any size.

A `Conversation` is one thread of messages with a customer (an email chain,
a chat, or a case's messages when they carry no thread) with the time of the
customer's first message and of the first reply from staff. It is kept from
the interactions table by `services.conversations_refresh`, which the clock
runs every half minute: it reads only interactions added since the last run
(`RollupMark`), so the first-response figure is fresh to the minute and costs
one indexed range read however long the history.
"""

from __future__ import annotations

from django.db import models


class Conversation(models.Model):
    # "thread:<ref>" or "case:<id>": how the interactions are grouped.
    key = models.CharField(max_length=320, unique=True)
    customer_id = models.BigIntegerField()
    # The case the conversation belongs to, when any of its messages names one;
    # its site and team are what the dashboards filter on.
    case_id = models.BigIntegerField(null=True, blank=True)
    site_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=20)
    first_customer_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    # first_reply_at - first_customer_at; NULL while no staff member has answered.
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["first_customer_at", "response_seconds"],
                name="conversation_first_idx",
                condition=models.Q(first_customer_at__isnull=False),
            ),
            models.Index(fields=["case_id"], name="conversation_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.response_seconds}s"


class RollupMark(models.Model):
    """How far a roll-up has read its source table (the last id it took in)."""

    name = models.CharField(max_length=60, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


class LoyaltyFigure(models.Model):
    """Revenue kept and at risk for one slice of customers, from the loyalty report.

    The report reads every purchase of the customers concerned (seconds at
    100,000 cases), so no page waits for it: a dashboard that needs a slice
    marks it wanted, and the clock works it out in the background
    (`services.loyalty_figures_refresh`) and again every LOYALTY_TTL while wanted.
    """

    # "since|until|site|segment", dates as YYYY-MM-DD (until exclusive).
    key = models.CharField(max_length=200, unique=True)
    since = models.DateTimeField()
    until = models.DateTimeField()
    site = models.CharField(max_length=60, blank=True)
    segment = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3)
    revenue_kept = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    revenue_at_risk = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    wanted_at = models.DateTimeField()
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.revenue_kept} {self.currency}"
