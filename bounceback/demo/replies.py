"""The demo's canned replies: an apology, a progress update and a follow-up, kept by the lead."""

from __future__ import annotations

from bounceback.accounts.models import User
from bounceback.replies.models import CannedReply
from bounceback.replies.services import canned_reply_create

REPLIES = [
    (
        "Sorry, our mistake",
        "apology",
        "{{ customer.first_name }}, I'm sorry: {{ case.summary }} was our mistake, not yours. "
        "I will put it right today at no cost to you and tell you as soon as it is done, and "
        "we are changing how we check this so it does not happen again.\n\n"
        "{{ staff.first_name }}, Harbourside Events & Services (your reference: "
        "{{ case.reference }})",
    ),
    (
        "Still on it",
        "update",
        "{{ customer.first_name }}, a quick update on {{ case.reference }}: we are still working "
        "on it and I will write again within the hour, sooner if it is fixed.\n\n"
        "{{ staff.first_name }}",
    ),
    (
        "Did we put it right?",
        "follow_up",
        "{{ customer.first_name }}, we wanted to check that everything is right now. "
        "Did we put things right for you, and would you come back to us?",
    ),
]


def load_replies() -> int:
    """Write the demo's canned replies as the team lead (those not there already, so a
    second load keeps them); returns how many were written."""
    lead = User.objects.get(username="lead")
    written = 0
    for title, purpose, body in REPLIES:
        if CannedReply.objects.filter(title=title).exists():
            continue
        canned_reply_create(title=title, purpose=purpose, body=body, actor=lead)
        written += 1
    return written
