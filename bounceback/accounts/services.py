from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from bounceback.accounts.models import FailedLogin, Team, User
from bounceback.accounts.roles import ROLE_PERMISSIONS, Role
from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record, client_ip
from bounceback.errors import Conflict, Forbidden, ValidationFailed


def roles_sync() -> None:
    """Make each role's group carry exactly the permissions ROLE_PERMISSIONS lists."""
    every = Permission.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in every}
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if names == ["*"]:
            wanted = list(by_name.values())
        else:
            wanted = [by_name[name] for name in names if name in by_name]
        group.permissions.set(wanted)


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(Role.values)
        raise ValidationFailed(
            f"unknown role {role!r}; choose one of {choices}", field="role"
        ) from None


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str = Role.AGENT,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: Team | None = None,
    actor: User | None = None,
    validate: bool = True,
) -> User:
    """A member of staff in `role` (admins get the admin site). Refuses an empty or
    taken username (case-insensitive), an unknown role, and, with `validate`, a weak
    password; the creation is audited."""
    username = username.strip()
    if not username:
        raise ValidationFailed("a username is required", field="username")
    checked_role = _check_role(role)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"a user named {username!r} already exists", field="username")
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=checked_role,
        team=team,
        is_staff=checked_role == Role.ADMIN,
        is_superuser=checked_role == Role.ADMIN,
    )
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get_or_create(name=checked_role)[0]])
    audit_record(
        action=AuditEvent.Action.USER_CREATED,
        actor=actor,
        target=f"user:{user.username}",
        data={"role": checked_role.value},
    )
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User | None) -> User:
    """Give a person another role (its permissions follow at once); audited."""
    checked_role = _check_role(role)
    before = user.role
    user.role = checked_role
    user.is_staff = checked_role == Role.ADMIN
    user.is_superuser = checked_role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    user.groups.set([Group.objects.get_or_create(name=checked_role)[0]])
    audit_record(
        action=AuditEvent.Action.ROLE_CHANGED,
        actor=actor,
        target=f"user:{user.username}",
        data={"before": before, "after": checked_role.value},
    )
    return user


@transaction.atomic
def user_set_team(*, user: User, team: Team | None, actor: User | None) -> User:
    """Move a person to a team (or none); audited."""
    before = user.team.name if user.team else None
    user.team = team
    user.save(update_fields=["team"])
    audit_record(
        action=AuditEvent.Action.TEAM_CHANGED,
        actor=actor,
        target=f"user:{user.username}",
        data={"before": before, "after": team.name if team else None},
    )
    return user


def user_set_time_zone(*, user: User, time_zone: str, actor: ActorLike) -> User:
    """Set the zone a person's pages show times in ("" follows their site, then the
    installation's). Only the person themself; refuses an unknown zone."""
    from zoneinfo import available_timezones

    person = actor_of(actor).user
    if person is None or person.pk != user.pk:
        raise Forbidden("only you choose your time zone", code="not_yourself")
    time_zone = (time_zone or "").strip()
    if time_zone and time_zone not in available_timezones():
        raise ValidationFailed(
            f"unknown time zone {time_zone!r}; use a name such as Europe/London",
            field="time_zone",
        )
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    return user


def team_create(*, name: str, description: str = "", lead: User | None = None) -> Team:
    """A team; refuses an empty or taken name (case-insensitive)."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a team needs a name", field="name")
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict(f"a team named {name!r} already exists", field="name")
    return Team.objects.create(name=name, description=description, lead=lead)


# --- Sign-in throttling -----------------------------------------------------------


@transaction.atomic
def team_set_assignment(*, team: Team, assignment: str, actor: User | None) -> Team:
    """Choose how the team's unassigned cases find a person; audited.

    Refuses an unknown mode. Changing the mode restarts round robin's rota."""
    if assignment not in Team.Assignment.values:
        raise ValidationFailed(
            f"assignment must be one of {', '.join(Team.Assignment.values)}", field="assignment"
        )
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = team.assignment
    if before == assignment:
        return team
    team.assignment = assignment
    team.last_assignee = None
    team.save(update_fields=["assignment", "last_assignee"])
    audit_record(
        action=AuditEvent.Action.TEAM_CHANGED,
        actor=actor,
        target=f"team:{team.name}",
        data={"assignment": [before, assignment]},
    )
    return team


def team_next_assignee(*, team: Team) -> User | None:
    """The member a new case of the team goes to under its rule, or None (by hand, nobody).

    Round robin takes the active member after the last one given a case, in
    the order of their ids, wrapping round; least loaded the active member
    with the fewest open cases (ties to the one waiting longest in the rota).
    Locks the team row, so two cases opened at once go to two people; call it
    inside the transaction that assigns the case.
    """
    from django.db.models import Count, Q

    # Read the rule as stored: the caller's copy of the team may be older.
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.assignment == Team.Assignment.MANUAL:
        return None
    members = list(
        User.objects.filter(team=team, is_active=True)
        .annotate(open_cases=Count("assigned_cases", filter=~Q(assigned_cases__status="closed")))
        .order_by("id")
    )
    if not members:
        return None
    after = team.last_assignee_id or 0
    rota = [m for m in members if m.pk > after] + [m for m in members if m.pk <= after]
    if team.assignment == Team.Assignment.LEAST_LOADED:
        chosen = min(rota, key=lambda m: m.open_cases)  # type: ignore[attr-defined]
    else:
        chosen = rota[0]
    team.last_assignee = chosen
    team.save(update_fields=["last_assignee"])
    return chosen


def _window_start() -> Any:
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


# Set on a request whose sign-in was refused by the throttle before the password
# was checked: that is no guess, so it is not counted as a failure (else anyone
# could keep an account slowed down without guessing at all).
REFUSED_BY_THROTTLE = "_bounceback_login_throttled"


def login_is_throttled(*, username: str, request: HttpRequest | None) -> bool:
    """True when this sign-in must wait (accounts.selectors.login_retry_after says why)."""
    from bounceback.accounts.selectors import login_retry_after

    return login_retry_after(username=username, request=request) > timedelta(0)


def login_record_failure(*, username: str, request: HttpRequest | None) -> None:
    """Count a failed password for the username and the address (see login_retry_after).

    When the account's failures from everywhere reach the limit, its owner is
    told (a notification, and an email when they have an address): someone
    may be guessing their password.
    """
    if request is not None and getattr(request, REFUSED_BY_THROTTLE, False):
        return
    now = timezone.now()
    FailedLogin.objects.create(username=username[:150], ip_address=client_ip(request), at=now)
    # Old attempts are useless for throttling; prune as we go so the table stays small.
    FailedLogin.objects.filter(at__lt=_window_start() - timedelta(days=1)).delete()
    failures = FailedLogin.objects.filter(username__iexact=username, at__gte=_window_start())
    if failures.count() == settings.LOGIN_FAILURE_LIMIT:
        _tell_owner(username=username, failures=failures, now=now)


def _tell_owner(*, username: str, failures: Any, now: datetime) -> None:
    from bounceback.notifications.services import notify
    from bounceback.outbox.services import outbox_enqueue

    owner = User.objects.filter(username__iexact=username, is_active=True).first()
    if owner is None:
        return
    addresses = sorted({str(ip) for ip in failures.values_list("ip_address", flat=True) if ip})
    minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
    title = "Repeated failed sign-ins to your account"
    body = (
        f"{settings.LOGIN_FAILURE_LIMIT} sign-ins to your account {owner.username} failed in "
        f"the last {minutes} minutes (from {', '.join(addresses) or 'an unknown address'}). "
        "Further attempts are slowed down. If this was not you, someone may be guessing "
        "your password: change it, and tell an administrator."
    )
    notify(recipients=[owner], kind="login_failures", title=title, body=body)
    if owner.email:
        outbox_enqueue(
            channel="email",
            to_address=owner.email,
            subject=title,
            body_text=f"Hello {owner.get_full_name() or owner.username},\n\n{body}\n",
        )


def login_clear_failures(*, username: str) -> None:
    """Forget a username's failed sign-ins (after one that succeeded)."""
    FailedLogin.objects.filter(username__iexact=username).delete()


def failed_logins_prune(*, now: datetime | None = None) -> int:
    """Forget failed sign-ins older than a day (the clock's hourly housekeeping)."""
    now = now or timezone.now()
    deleted, _ = FailedLogin.objects.filter(at__lt=now - timedelta(days=1)).delete()
    return deleted
