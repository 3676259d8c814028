from __future__ import annotations

from django.db import models


class Site(models.Model):
    """A place the business serves customers: a venue, a workshop, a depot, a store.

    Transactions reference sites by code, so a breakdown at one site can find
    every customer booked there.
    """

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=60, blank=True)
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Opening hours: when set, recovery timers for cases here count open time only.
    calendar = models.ForeignKey(
        "timers.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sites",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
