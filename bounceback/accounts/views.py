from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from bounceback.accounts.forms import LoginForm, RoleForm, TimeZoneForm
from bounceback.accounts.models import Team, User
from bounceback.accounts.roles import Role
from bounceback.accounts.selectors import staff_list, user_time_zone
from bounceback.accounts.services import team_set_assignment, user_set_role, user_set_time_zone
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.errors import ServiceError
from bounceback.web.actions import perform
from bounceback.web.forms import add_service_error
from bounceback.web.permissions import admin_required


class LoginView(auth_views.LoginView):
    """Sign-in (public). A refused, throttled attempt is written to the audit log."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        if form.refused_by_throttle:
            audit_record(
                action=AuditEvent.Action.LOGIN_THROTTLED,
                actor_label=str(form.cleaned_data.get("username", ""))[:150],
                target=f"user:{form.cleaned_data.get('username', '')}",
                request=self.request,
            )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.info(request, "You have signed out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit_record(
            action=AuditEvent.Action.PASSWORD_CHANGED,
            actor=self.request.user,
            target=f"user:{self.request.user.get_username()}",
            request=self.request,
        )
        messages.success(self.request, "Your password has been changed.")
        return response


@admin_required
def staff(request: HttpRequest) -> HttpResponse:
    """Every staff account with role and team; administrators change roles here."""
    page = Paginator(staff_list(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/staff_list.html",
        {"page_obj": page, "users": page.object_list, "roles": Role.choices},
    )


@admin_required
@require_POST
def staff_set_role(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(User, pk=pk)
    assert isinstance(request.user, User)
    form = RoleForm(request.POST, actor=request.user, target=target)
    if form.is_valid():
        try:
            user_set_role(user=target, role=form.cleaned_data["role"], actor=request.user)
        except ServiceError as exc:
            add_service_error(form, exc)
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{target.username}: {error}")
    else:
        messages.success(request, f"{target.display_name} is now {target.get_role_display()}.")
    return redirect("staff_list")


@permission_required("accounts.view_team", raise_exception=True)
def team_list(request: HttpRequest) -> HttpResponse:
    """Each team with its members' open cases, and how its new cases find a person."""
    teams = list(
        Team.objects.select_related("lead").annotate(
            member_count=Count("members", filter=Q(members__is_active=True), distinct=True),
            open_cases=Count("cases", filter=~Q(cases__status="closed"), distinct=True),
            unassigned=Count(
                "cases",
                filter=~Q(cases__status="closed") & Q(cases__assignee__isnull=True),
                distinct=True,
            ),
        )
    )
    return render(
        request,
        "accounts/teams.html",
        {
            "teams": teams,
            "modes": Team.Assignment.choices,
            "can_change": request.user.has_perm("accounts.change_team"),
        },
    )


@require_POST
@permission_required("accounts.change_team", raise_exception=True)
def team_assignment(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    mode = request.POST.get("assignment", "")
    assert isinstance(request.user, User)
    actor = request.user
    return perform(
        request,
        lambda: team_set_assignment(team=team, assignment=mode, actor=actor),
        success=lambda saved: (
            f"{saved.name}: new cases are now assigned {saved.get_assignment_display().lower()}."
        ),
        redirect_to="team_list",
        sentence=True,
    )


def time_zone(request: HttpRequest) -> HttpResponse:
    """The viewer chooses the clock their pages show times on."""
    assert isinstance(request.user, User)
    me = request.user
    chosen = me.time_zone
    me.time_zone = ""
    following = user_time_zone(me)
    me.time_zone = chosen
    form = TimeZoneForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": me.time_zone},
        following=following,
    )

    def page() -> HttpResponse:
        return render(request, "accounts/time_zone.html", {"form": form, "now": timezone.now()})

    if request.method != "POST":
        return page()
    return perform(
        request,
        lambda data: user_set_time_zone(user=me, time_zone=data["time_zone"], actor=me),
        form=form,
        page=page,
        success=lambda user: f"Times now show in {user_time_zone(user)}.",
        redirect_to="time_zone",
    )
