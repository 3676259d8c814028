"""Received email for staff: the list (held first), one message, release and discard.

Held mail waits for a person: release files it into a case (a named one or a
new case for the sender), discard keeps it stored with the reason. Both go
through the services, which audit them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET, require_POST

from bounceback.mail import selectors, services
from bounceback.mail.forms import DiscardForm, ReleaseForm, StateFilterForm
from bounceback.mail.models import EmailAttachment, InboundEmail
from bounceback.web.actions import perform

VIEW = "mail.view_inboundemail"
CHANGE = "mail.change_inboundemail"
LIST_PAGE = 50


@require_GET
@permission_required(VIEW, raise_exception=True)
def mail_list(request: HttpRequest) -> HttpResponse:
    form = StateFilterForm(request.GET or None)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    page = Paginator(selectors.mail_list(state=state or None), LIST_PAGE).get_page(
        request.GET.get("page")
    )
    held = InboundEmail.objects.filter(state=InboundEmail.State.HELD).count()
    context = {"page_obj": page, "emails": page.object_list, "form": form, "held": held}
    return render(request, "mail/list.html", context)


def _detail(
    request: HttpRequest,
    email: InboundEmail,
    *,
    release: ReleaseForm | None = None,
    discard: DiscardForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "email": email,
        "attachments": list(email.attachments.defer("content")),
        "release_form": release or ReleaseForm(),
        "discard_form": discard or DiscardForm(),
        "can_decide": request.user.has_perm(CHANGE) and email.state in services.DECIDABLE,
    }
    return render(request, "mail/detail.html", context, status=status)


def _email(pk: int) -> InboundEmail:
    return get_object_or_404(
        InboundEmail.objects.without_raw().select_related("case", "customer", "decided_by"), pk=pk
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _email(pk))


@require_POST
@permission_required(CHANGE, raise_exception=True)
def mail_release(request: HttpRequest, pk: int) -> HttpResponse:
    email = _email(pk)
    form = ReleaseForm(request.POST)
    return perform(
        request,
        lambda data: services.email_release(
            email=email, actor=request.user, case_reference=data["case_reference"]
        ),
        form=form,
        page=lambda: _detail(request, email, release=form, status=422),
        success=lambda released: (
            f"Released into {released.case.reference if released.case else ''}."
        ),
        redirect_to=lambda released: reverse("mail:detail", args=[released.pk]),
    )


@require_POST
@permission_required(CHANGE, raise_exception=True)
def mail_discard(request: HttpRequest, pk: int) -> HttpResponse:
    email = _email(pk)
    form = DiscardForm(request.POST)
    return perform(
        request,
        lambda data: services.email_discard(email=email, actor=request.user, reason=data["reason"]),
        form=form,
        page=lambda: _detail(request, email, discard=form, status=422),
        success="Discarded.",
        redirect_to="mail:list",
    )


def _download(data: bytes | memoryview, *, filename: str, content_type: str) -> HttpResponse:
    # Always a download, never rendered: a received file is untrusted content.
    response = HttpResponse(bytes(data), content_type=content_type or "application/octet-stream")
    safe = get_valid_filename(filename) or "download"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
@permission_required(VIEW, raise_exception=True)
def mail_raw(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(InboundEmail, pk=pk)
    return _download(email.raw, filename=f"email-{email.pk}.eml", content_type="message/rfc822")


@require_GET
@permission_required(VIEW, raise_exception=True)
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(EmailAttachment, pk=pk, skipped=False, content__isnull=False)
    return _download(
        attachment.content or b"",
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
