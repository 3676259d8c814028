"""Reads over received email: what staff see, and whether a message is already stored."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import QuerySet

from bounceback.mail.models import EmailAttachment, InboundEmail
from bounceback.mail.parsing import parse_headers


def email_already_stored(raw: bytes) -> bool:
    """Whether `email_receive` would treat these bytes as a duplicate."""
    digest = hashlib.sha256(raw).hexdigest()
    if InboundEmail.objects.filter(raw_sha256=digest).exists():
        return True
    message_id = parse_headers(raw).message_id
    return bool(message_id) and InboundEmail.objects.filter(message_id=message_id).exists()


def mail_list(*, state: str | None = None) -> QuerySet[InboundEmail]:
    """Staff's list: held mail first (it waits for a person), then newest first."""
    rows = InboundEmail.objects.without_raw().defer("body_text").select_related("case")
    if state:
        rows = rows.filter(state=state)
    return rows.held_first()


def case_attachments(*, case_id: int) -> QuerySet[EmailAttachment]:
    """Files received by email on a case, oldest first, without their contents."""
    return (
        EmailAttachment.objects.filter(inbound_email__case_id=case_id)
        .defer("content")
        .select_related("inbound_email")
        .order_by("inbound_email__received_at", "id")
    )


def case_emails(*, case_id: int) -> list[dict[str, Any]]:
    """Emails received on a case (replies, and bounces of our messages) with their files.

    One query (a left join), so the case page's query count stays flat.
    """
    rows = (
        InboundEmail.objects.filter(case_id=case_id)
        .order_by("received_at", "id", "attachments__id")
        .values(
            "id",
            "subject",
            "received_at",
            "kind",
            "attachments__id",
            "attachments__filename",
            "attachments__content_type",
            "attachments__size",
            "attachments__skipped",
            "attachments__skip_reason",
        )
    )
    emails: dict[int, dict[str, Any]] = {}
    for row in rows:
        email = emails.setdefault(
            row["id"],
            {
                "pk": row["id"],
                "subject": row["subject"],
                "received_at": row["received_at"],
                "kind": row["kind"],
                "kind_label": InboundEmail.Kind(row["kind"]).label,
                "attachments": [],
            },
        )
        if row["attachments__id"] is not None:
            email["attachments"].append(
                {
                    "pk": row["attachments__id"],
                    "filename": row["attachments__filename"],
                    "content_type": row["attachments__content_type"],
                    "size": row["attachments__size"],
                    "skipped": row["attachments__skipped"],
                    "skip_reason": row["attachments__skip_reason"],
                }
            )
    return list(emails.values())
