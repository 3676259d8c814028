from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bounceback.customers.models import Customer
from bounceback.customers.views import render_customer_page, timeline_context
from bounceback.errors import ServiceError
from bounceback.interactions.forms import InteractionForm
from bounceback.interactions.services import interaction_log
from bounceback.web.forms import add_service_error
from bounceback.web.htmx import is_htmx, vary_on_htmx


@require_POST
@permission_required("interactions.add_interaction", raise_exception=True)
def interaction_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Log an interaction; htmx gets a fresh form plus the refreshed timeline."""
    customer = get_object_or_404(Customer.objects.with_identities(), pk=customer_pk)
    form = InteractionForm(request.POST, prefix="interaction")
    if form.is_valid():
        try:
            interaction_log(customer=customer, author=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Interaction logged on {customer.name}'s timeline.")
            if not is_htmx(request):
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
            context = {
                **timeline_context(customer),
                "form": InteractionForm(prefix="interaction"),
            }
            return vary_on_htmx(render(request, "interactions/_created.html", context))
    if is_htmx(request):
        return vary_on_htmx(
            render(request, "interactions/_form.html", {"form": form, "customer": customer})
        )
    return render_customer_page(request, customer, interaction_form=form)
