from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address: the peer's, or behind a trusted proxy the client it
    forwarded for (bounceback.web.proxies rewrites REMOTE_ADDR, and only for
    requests from BOUNCEBACK_TRUSTED_PROXIES, so nobody can invent an address)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor: ActorLike = None,
    actor_label: str = "",
    target: str = "",
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one line of the audit log (inside the transaction of what it records).

    The label is `actor_label` when given; else a person's username, or a
    token's name; a write by Bounceback itself has an empty label unless one is
    given ("Bounceback", "cli").
    """
    who = actor_of(actor)
    if not actor_label:
        if who.kind == "person" and who.user is not None:
            actor_label = who.user.get_username()
        elif who.kind == "token":
            actor_label = who.label
    return AuditEvent.objects.create(
        action=action,
        actor=who.user,
        token=who.token,
        actor_label=actor_label[:200],
        target=target[:200],
        ip_address=client_ip(request),
        data=data or {},
    )
