"""Who did something: a person, another system through an API token, or Bounceback itself.

Every service that records who acted takes an `Actor` (or, as shorthand, the
signed-in `User` for a person and `None` for Bounceback; `actor_of` turns
either into an Actor). Timelines and the audit log keep three things from it:
the person responsible (`user`: the person, or whoever created the token),
the token when one acted (`token`), and the label people read (`label`).

Rules for callers:
- Views pass `request.user`; API endpoints pass `request_actor(request)`
  (bounceback.api.auth), which knows a token from a session; timers, the
  clock and the demo pass `Actor.system("...")` or nothing.
- Write the FK from `actor.user`, the label from `actor.label`, and the token
  from `actor.token`; never `str(actor)` or `getattr(actor, ...)`.
- `actor.may(permission)` is what services ask before a privileged write. A
  token's scopes were checked by the API before the service ran, and the
  system is trusted, so only a person's role is checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from bounceback.accounts.models import User
    from bounceback.apitokens.models import ApiToken

SYSTEM_LABEL = "Bounceback"
LABEL_MAX = 200


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    token: ApiToken | None = None
    system_label: str = ""

    @classmethod
    def person(cls, user: User) -> Actor:
        return cls(user=user)

    @classmethod
    def via_token(cls, token: ApiToken) -> Actor:
        """A system calling the API: it acts for whoever created the token (if still active)."""
        creator = token.created_by if token.created_by_id else None
        if creator is not None and not creator.is_active:
            creator = None
        return cls(user=creator, token=token)

    @classmethod
    def system(cls, label: str = SYSTEM_LABEL) -> Actor:
        return cls(system_label=label or SYSTEM_LABEL)

    @property
    def kind(self) -> Literal["person", "token", "system"]:
        if self.token is not None:
            return "token"
        if self.user is not None:
            return "person"
        return "system"

    @property
    def label(self) -> str:
        """What a timeline or the audit log shows, at most LABEL_MAX characters."""
        if self.token is not None:
            text = f"{self.token.name} (API token {self.token.prefix}…)"
            if self.user is not None:
                text += f" for {self.user}"
        elif self.user is not None:
            text = str(self.user)
        else:
            text = self.system_label or SYSTEM_LABEL
        return text[:LABEL_MAX]

    @property
    def is_person(self) -> bool:
        return self.kind == "person"

    def may(self, permission: str) -> bool:
        """Whether this actor may do what `permission` guards (see the module's rules)."""
        if self.kind != "person":
            return True
        assert self.user is not None
        return bool(self.user.has_perm(permission))

    def __str__(self) -> str:
        return self.label


# What services accept as `actor`: an Actor, or as shorthand a person (a view's
# request.user; an anonymous visitor counts as Bounceback) or None for Bounceback.
ActorLike: TypeAlias = "Actor | User | AnonymousUser | None"


def actor_of(actor: ActorLike) -> Actor:
    """The Actor for a service's `actor` argument: an Actor, a signed-in User (a person),
    or None or an anonymous visitor (Bounceback itself)."""
    if isinstance(actor, Actor):
        return actor
    if actor is None or not actor.is_authenticated:
        return Actor.system()
    return Actor.person(actor)  # type: ignore[arg-type]
