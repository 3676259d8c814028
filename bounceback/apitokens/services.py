from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.scopes import SCOPES
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from bounceback.accounts.models import User

TOKEN_PREFIX = "bb_"  # noqa: S105 (a marker, not a secret)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_check_scopes(*, scopes: list[str]) -> list[str]:
    """The scopes, each known and once, sorted; refuses none or an unknown one."""
    if not scopes:
        raise ValidationFailed("a token needs at least one scope", field="scopes")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationFailed(
            f"unknown scope(s) {', '.join(unknown)}; known scopes: {', '.join(SCOPES)}",
            field="scopes",
        )
    return sorted(set(scopes))


@transaction.atomic
def token_create(
    *, name: str, scopes: list[str], actor: ActorLike, acts_for: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plaintext, which is never stored or shown again.

    The token acts for `acts_for` when given (the CLI's `--as`: writes that need a
    person, such as spending a recovery fund, are then made as them), else for
    the person creating it. Refuses an inactive `acts_for`.
    """
    name = name.strip()
    if not name:
        raise ValidationFailed("a token needs a name", field="name")
    checked = token_check_scopes(scopes=scopes)
    if acts_for is not None and not acts_for.is_active:
        raise ValidationFailed(
            f"{acts_for.get_username()} is not an active member of staff", field="acts_for"
        )
    person = acts_for if acts_for is not None else actor_of(actor).user
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secret}"
    token = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(plaintext),
        scopes=checked,
        created_by=person,
    )
    audit_record(
        action=AuditEvent.Action.TOKEN_CREATED,
        actor=actor,
        actor_label="" if actor else "cli",
        target=f"token:{prefix}",
        data={
            "name": name,
            "scopes": checked,
            "acts_for": person.get_username() if person is not None else None,
        },
    )
    return token, plaintext


@transaction.atomic
def token_revoke(*, prefix: str, actor: ActorLike) -> ApiToken:
    """Stop a token working from now on (revoking twice is harmless); audited."""
    token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
    if token is None:
        raise NotFound(f"no token with prefix {prefix!r}", field="prefix")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditEvent.Action.TOKEN_REVOKED,
            actor=actor,
            actor_label="" if actor else "cli",
            target=f"token:{prefix}",
            data={"name": token.name},
        )
    return token


def token_authenticate(*, plaintext: str) -> ApiToken | None:
    """The active token this plaintext belongs to, or None."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    prefix, _, _ = plaintext[len(TOKEN_PREFIX) :].partition("_")
    token = ApiToken.objects.active().select_related("created_by").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(plaintext)):
        return None
    now = timezone.now()
    # Writing on every call would serialise API traffic on one row; a minute's
    # precision is plenty for "when was this token last used".
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
