from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from bounceback.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address as the web server saw it.

    X-Forwarded-For is ignored on purpose: trusting it would let anyone dodge
    login throttling by inventing addresses. Behind a proxy, configure the proxy
    to set REMOTE_ADDR (gunicorn --forwarded-allow-ips).
    """
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor: Any = None,
    actor_label: str = "",
    target: str = "",
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_label = actor_label or actor.get_username()
    else:
        actor = None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=actor_label[:200],
        target=target[:200],
        ip_address=client_ip(request),
        data=data or {},
    )
