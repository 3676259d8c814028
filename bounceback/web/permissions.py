"""Access checks for staff pages: a failed check is a 403 page, never a redirect loop."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from bounceback.accounts.roles import Role

V = TypeVar("V", bound=Callable[..., HttpResponse])


def is_admin(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_superuser or getattr(user, "role", None) == Role.ADMIN)
    )


def admin_required(view: V) -> V:
    """Only administrators may open the page; everyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied("This page is for administrators.")
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


def has_role_at_least(user: Any, minimum: str) -> bool:
    """Whether the user's role is `minimum` or more senior (superusers always are)."""
    from bounceback.accounts.roles import role_rank

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    role = getattr(user, "role", None)
    return isinstance(role, str) and bool(role) and role_rank(role) >= role_rank(minimum)


def role_required(minimum: str) -> Callable[[V], V]:
    """Only staff of role `minimum` or above may open the page; everyone else gets 403."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role_at_least(request.user, minimum):
                raise PermissionDenied("This page is for team leads, managers and executives.")
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
