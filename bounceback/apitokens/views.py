from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from bounceback.apitokens.forms import TokenForm
from bounceback.apitokens.scopes import SCOPES
from bounceback.apitokens.selectors import token_get, token_list
from bounceback.apitokens.services import token_create, token_revoke
from bounceback.errors import ServiceError
from bounceback.web.actions import perform
from bounceback.web.forms import add_service_error
from bounceback.web.permissions import admin_required


@never_cache
@admin_required
def token_index(request: HttpRequest) -> HttpResponse:
    """Every token and the form to create one; a new secret is shown in this answer only."""
    form = TokenForm(request.POST or None)
    created = plaintext = None
    if request.method == "POST" and form.is_valid():
        try:
            created, plaintext = token_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=request.user,
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Token “{created.name}” created.")
            form = TokenForm()
    context = {
        "form": form,
        "tokens": token_list(),
        "created": created,
        "plaintext": plaintext,
        "scope_help": SCOPES,
    }
    return render(request, "apitokens/list.html", context)


@admin_required
def token_revoke_confirm(request: HttpRequest, prefix: str) -> HttpResponse:
    """Ask before revoking (GET); revoke (POST). Systems using the token stop at once."""
    token = token_get(prefix=prefix)
    if token is None:
        raise Http404("No such token")
    if request.method == "POST":
        return perform(
            request,
            lambda: token_revoke(prefix=prefix, actor=request.user),
            success=f"Token “{token.name}” revoked. It can no longer be used.",
            redirect_to="apitokens:list",
        )
    return render(request, "apitokens/revoke.html", {"token": token})
