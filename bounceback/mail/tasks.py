from __future__ import annotations

from django_tasks import task

from bounceback.mail.imap import imap_poll


@task()
def poll_mailbox() -> None:
    """Read the configured IMAP mailbox once; the clock enqueues it every poll interval."""
    result = imap_poll()
    if result.more:
        # A backlog (the first poll of a full mailbox) drains at task speed, not
        # one batch per poll interval.
        poll_mailbox.enqueue()
