from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from bounceback.accounts.roles import Role


class Team(models.Model):
    class Assignment(models.TextChoices):
        MANUAL = "manual", "By hand"
        ROUND_ROBIN = "round_robin", "Round robin"
        LEAST_LOADED = "least_loaded", "Least loaded"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams_led",
    )
    # How a case given to the team without a person finds one.
    assignment = models.CharField(
        max_length=20, choices=Assignment.choices, default=Assignment.MANUAL
    )
    # Round robin's place in the rota: the member who was given the last case.
    last_assignee = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Customers are never users: they live in `customers`."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # Where they work: their times default to the site's clock.
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    # The zone every page shows their times in; blank: their site's, else the
    # installation's TIME_ZONE (accounts.selectors.user_time_zone).
    time_zone = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class FailedLogin(models.Model):
    """One failed sign-in attempt, kept for throttling.

    Stored in the database rather than a process cache so the limit holds across
    every web node.
    """

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip_address", "at"])]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.at:%Y-%m-%d %H:%M}"
