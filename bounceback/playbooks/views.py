"""The playbook pages: the list, a playbook (any version of it), the editor and its live preview.

Everyone on staff reads playbooks; leads and managers write them
(playbooks.add_playbook / change_playbook). Saving always writes a new version.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.customers.models import Customer
from bounceback.errors import ServiceError
from bounceback.playbooks import selectors, services
from bounceback.playbooks.forms import DetailsForm, Editor
from bounceback.playbooks.models import Playbook, PlaybookVersion, TemplatePurpose
from bounceback.playbooks.templating import PLACEHOLDERS
from bounceback.web.actions import perform
from bounceback.web.forms import add_service_error

VIEW = "playbooks.view_playbook"
ADD = "playbooks.add_playbook"
CHANGE = "playbooks.change_playbook"


def _playbook(pk: int) -> Playbook:
    return get_object_or_404(Playbook.objects.select_related("failure_mode", "current"), pk=pk)


def _declare_url(playbook: Playbook) -> str:
    # The declare page belongs to the breakdowns app; until it exists, a plain path.
    try:
        base = reverse("breakdowns:declare")
    except NoReverseMatch:
        base = "/breakdowns/declare/"
    return f"{base}?playbook={playbook.pk}"


def _title(playbook: Playbook | None) -> str:
    if playbook is None:
        return ""
    return playbook.failure_mode.title if playbook.failure_mode else playbook.breakdown_type


@require_GET
@permission_required(VIEW, raise_exception=True)
def playbook_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    playbooks = list(selectors.playbook_list(include_archived=show_archived).order_by("name"))
    return render(
        request,
        "playbooks/list.html",
        {
            "playbooks": playbooks,
            "show_archived": show_archived,
            "can_edit": request.user.has_perm(ADD),
        },
    )


def _show(request: HttpRequest, playbook: Playbook, version: PlaybookVersion) -> HttpResponse:
    versions = list(playbook.versions.select_related("created_by").order_by("-number"))
    templates = list(version.templates.all())
    order = {purpose: i for i, purpose in enumerate(TemplatePurpose.values)}
    templates.sort(key=lambda t: (order.get(t.purpose, 99), t.channel, t.language))
    return render(
        request,
        "playbooks/detail.html",
        {
            "playbook": playbook,
            "version": version,
            "is_current": version.pk == playbook.current_id,
            "versions": versions,
            "templates": templates,
            "actions": list(version.actions.all()),
            "compensations": list(version.compensations.all()),
            "can_edit": request.user.has_perm(CHANGE),
            "can_declare": request.user.has_perm("breakdowns.declare_breakdown"),
            "declare_url": _declare_url(playbook),
        },
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(pk)
    if playbook.current_id is None:
        return render(request, "playbooks/detail.html", {"playbook": playbook, "versions": []})
    return _show(request, playbook, selectors.playbook_version_full(playbook=playbook))


@require_GET
@permission_required(VIEW, raise_exception=True)
def playbook_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    playbook = _playbook(pk)
    try:
        version = selectors.playbook_version_full(playbook=playbook, number=number)
    except ServiceError as error:
        raise Http404(error.message) from None
    return _show(request, playbook, version)


def _editor_page(
    request: HttpRequest,
    *,
    editor: Editor,
    playbook: Playbook | None,
    details: DetailsForm | None,
    coach_refusal: Any = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "playbooks/edit.html",
        {
            "playbook": playbook,
            "details": details,
            "editor": editor,
            "version_form": editor.version,
            "actions": editor.formsets["actions"],
            "templates": editor.formsets["templates"],
            "compensations": editor.formsets["compensations"],
            "contacts": editor.formsets["escalation_contacts"],
            "placeholders": PLACEHOLDERS,
            "coach_refusal": coach_refusal,
        },
        status=status,
    )


@permission_required(ADD, raise_exception=True)
def playbook_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _editor_page(request, editor=Editor(), playbook=None, details=DetailsForm())
    details = DetailsForm(request.POST)
    editor = Editor(request.POST)
    valid = details.is_valid()
    valid = editor.is_valid() and valid
    if not valid:
        return _editor_page(request, editor=editor, playbook=None, details=details, status=422)
    content = editor.content()
    try:
        playbook = services.playbook_create(
            actor=request.user,
            name=details.cleaned_data["name"],
            failure_mode=details.cleaned_data["failure_mode"],
            breakdown_type=details.cleaned_data["breakdown_type"],
            content=content,
        )
    except ServiceError as error:
        if error.field in {"name", "failure_mode", "breakdown_type"}:
            add_service_error(details, error)
        else:
            editor.add_service_error(error)
        return _editor_page(
            request,
            editor=editor,
            playbook=None,
            details=details,
            coach_refusal=getattr(error, "result", None),
            status=422,
        )
    messages.success(request, f"Playbook “{playbook.name}” created as version 1.")
    return redirect("playbooks:detail", pk=playbook.pk)


def _details_form(playbook: Playbook) -> DetailsForm:
    return DetailsForm(
        initial={
            "name": playbook.name,
            "failure_mode": playbook.failure_mode_id,
            "breakdown_type": playbook.breakdown_type,
        }
    )


@permission_required(CHANGE, raise_exception=True)
def playbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(pk)
    current = selectors.playbook_version_full(playbook=playbook)
    initial = services.content_of(current)
    if request.method != "POST":
        return _editor_page(
            request,
            editor=Editor(initial=initial),
            playbook=playbook,
            details=_details_form(playbook),
        )
    editor = Editor(request.POST, initial=initial)
    if not editor.is_valid():
        return _editor_page(
            request, editor=editor, playbook=playbook, details=_details_form(playbook), status=422
        )
    try:
        version = services.playbook_revise(
            playbook=playbook, actor=request.user, content=editor.content()
        )
    except ServiceError as error:
        editor.add_service_error(error)
        return _editor_page(
            request,
            editor=editor,
            playbook=playbook,
            details=_details_form(playbook),
            coach_refusal=getattr(error, "result", None),
            status=422,
        )
    messages.success(request, f"Saved as version {version.number}.")
    return redirect("playbooks:detail", pk=playbook.pk)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def playbook_details(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(pk)
    details = DetailsForm(request.POST)

    def page() -> HttpResponse:
        current = selectors.playbook_version_full(playbook=playbook)
        return _editor_page(
            request,
            editor=Editor(initial=services.content_of(current)),
            playbook=playbook,
            details=details,
            status=422,
        )

    return perform(
        request,
        lambda data: services.playbook_update_details(
            playbook=playbook,
            actor=request.user,
            name=data["name"],
            failure_mode=data["failure_mode"],
            breakdown_type=data["breakdown_type"],
        ),
        form=details,
        page=page,
        success="Details saved (the plan's versions are unchanged).",
        redirect_to=reverse("playbooks:edit", args=[playbook.pk]),
    )


@require_POST
@permission_required(CHANGE, raise_exception=True)
def playbook_archive(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = _playbook(pk)
    archive = request.POST.get("archived", "1") != "0"
    return perform(
        request,
        lambda: services.playbook_archive(playbook=playbook, actor=request.user, archived=archive),
        success="Playbook archived." if archive else "Playbook restored.",
        redirect_to=reverse("playbooks:detail", args=[playbook.pk]),
    )


@require_POST
@permission_required(VIEW, raise_exception=True)
def playbook_preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview of one template row (`row` names its form prefix).

    Reads the raw editor fields without validating them: a half-written form
    still previews. An apology is coached together with the explanation and
    alternatives rows of the same channel and language.
    """
    data = request.POST
    row = data.get("row", "")
    get = lambda prefix, name: (data.get(f"{prefix}-{name}") or "").strip()  # noqa: E731
    purpose, channel, language = get(row, "purpose"), get(row, "channel"), get(row, "language")
    siblings: dict[str, str] = {}
    try:
        total = min(int(data.get("templates-TOTAL_FORMS", "0")), 100)
    except ValueError:
        total = 0
    for i in range(total):
        prefix = f"templates-{i}"
        if data.get(f"{prefix}-DELETE"):
            continue
        if (get(prefix, "channel"), get(prefix, "language").lower()) == (channel, language.lower()):
            siblings.setdefault(get(prefix, "purpose"), data.get(f"{prefix}-body", ""))
    playbook = None
    if (data.get("playbook") or "").isdigit():
        playbook = (
            Playbook.objects.select_related("failure_mode").filter(pk=int(data["playbook"])).first()
        )
    title = _title(playbook)
    if not title:
        failure_mode = (data.get("failure_mode") or "").strip()
        title = (data.get("breakdown_type") or "").strip()
        if failure_mode.isdigit():
            from bounceback.failuremodes.models import FailureMode

            mode = FailureMode.objects.filter(pk=int(failure_mode)).first()
            title = mode.title if mode else title
    customer = None
    if (data.get("customer") or "").isdigit() and request.user.has_perm("customers.view_customer"):
        customer = Customer.objects.filter(pk=int(data["customer"])).first()
    preview = selectors.template_preview(
        purpose=purpose,
        subject=data.get(f"{row}-subject", ""),
        body=data.get(f"{row}-body", ""),
        language=language or "en",
        explanation=siblings.get(TemplatePurpose.EXPLANATION, ""),
        alternatives=siblings.get(TemplatePurpose.ALTERNATIVES, ""),
        title=title,
        customer=customer,
    )
    return render(request, "playbooks/_preview.html", {"preview": preview, "purpose": purpose})
