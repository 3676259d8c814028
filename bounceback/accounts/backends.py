from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from bounceback.accounts.services import REFUSED_BY_THROTTLE, login_is_throttled


class ThrottledModelBackend(ModelBackend):
    """The stock username/password backend, refusing while a login is throttled.

    Raising PermissionDenied stops Django trying other backends; the attempt
    is audited as failed but not counted as a failure (no password was tried).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username and login_is_throttled(username=username, request=request):
            if request is not None:
                setattr(request, REFUSED_BY_THROTTLE, True)
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        # Every page reads the person's team (the menu) and site (their clock).
        from bounceback.accounts.models import User

        user = User.objects.select_related("team", "site").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
