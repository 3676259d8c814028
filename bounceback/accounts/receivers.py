"""Audit entries for authentication events Django itself raises.

Sign-ins happen inside django.contrib.auth and permission edits can happen in
the admin, outside our services, so these receivers are how they reach the
audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_migrate
from django.dispatch import receiver

from bounceback.accounts.models import User
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    from bounceback.accounts.services import login_clear_failures

    login_clear_failures(username=user.get_username())
    audit_record(action=AuditEvent.Action.LOGIN, actor=user, request=request)


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditEvent.Action.LOGOUT, actor=user, request=request)


@receiver(user_login_failed)
def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    from bounceback.accounts.services import login_record_failure

    username = str(credentials.get("username", ""))[:150]
    login_record_failure(username=username, request=request)
    audit_record(
        action=AuditEvent.Action.LOGIN_FAILED,
        actor_label=username,
        target=f"user:{username}",
        request=request,
    )


@receiver(m2m_changed, sender=User.groups.through)
@receiver(m2m_changed, sender=User.user_permissions.through)
def _on_permissions_changed(
    sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if action not in {"post_add", "post_remove", "post_clear"} or not isinstance(instance, User):
        return
    kind = "groups" if sender is User.groups.through else "permissions"
    audit_record(
        action=AuditEvent.Action.PERMISSIONS_CHANGED,
        target=f"user:{instance.username}",
        data={"change": action.removeprefix("post_"), "kind": kind, "ids": sorted(pk_set or [])},
    )


@receiver(post_migrate)
def _sync_roles(sender: Any, **kwargs: Any) -> None:
    # Permissions are created app by app as each app's post_migrate runs; wait
    # for the last app so every permission a role names exists.
    from django.apps import apps

    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if getattr(sender, "label", None) != with_models[-1].label:
        return
    from bounceback.accounts.services import roles_sync

    roles_sync()
