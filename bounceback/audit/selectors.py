"""Reads of the audit log."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bounceback.audit.models import AuditEvent


def audit_event_list(*, action: str = "", text: str = "") -> QuerySet[AuditEvent]:
    """Events newest first, optionally of one action and mentioning a person or target."""
    rows = AuditEvent.objects.order_by("-at", "-id")
    if action:
        rows = rows.filter(action=action)
    text = text.strip()
    if text:
        rows = rows.filter(Q(actor_label__icontains=text) | Q(target__icontains=text))
    return rows
