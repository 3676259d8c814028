from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.customers.models import Customer
from bounceback.customers.views import render_customer_page, timeline_context, value_context
from bounceback.errors import ServiceError
from bounceback.transactions import selectors
from bounceback.transactions.forms import TransactionFilterForm, TransactionForm
from bounceback.transactions.services import transaction_upsert
from bounceback.web.forms import add_service_error
from bounceback.web.htmx import is_htmx, vary_on_htmx

PAGE_SIZE = 50

# transaction_upsert names the fields it refuses the way the API does.
_FIELD_MAP: dict[str, str | None] = {"customer_id": None, "source": None}


@require_GET
@permission_required("transactions.view_transaction", raise_exception=True)
def transaction_list(request: HttpRequest) -> HttpResponse:
    form = TransactionFilterForm(request.GET or None)
    rows = selectors.transaction_list(**form.selector_arguments())
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = form.is_bound and any(v for k, v in request.GET.items() if k != "page")
    return render(
        request,
        "transactions/list.html",
        {"form": form, "page_obj": page, "transactions": page.object_list, "filtered": filtered},
    )


@require_POST
@permission_required("transactions.add_transaction", raise_exception=True)
def transaction_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Add a transaction by hand; htmx gets a fresh form, the timeline and the new value."""
    customer = get_object_or_404(Customer.objects.with_identities(), pk=customer_pk)
    form = TransactionForm(request.POST, prefix="transaction")
    if form.is_valid():
        try:
            row, _ = transaction_upsert(
                data=form.service_data(customer_id=customer.pk),
                default_source=selectors.STAFF_SOURCE,
            )
        except ServiceError as exc:
            add_service_error(form, exc, field_map=_FIELD_MAP)
        else:
            messages.success(request, f"{row.get_kind_display()} added to {customer.name}.")
            if not is_htmx(request):
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
            customer.refresh_from_db(fields=["lifetime_value", "lifetime_value_currency"])
            context = {
                **timeline_context(customer),
                **value_context(customer),
                "form": TransactionForm(prefix="transaction"),
                "site_codes": selectors.site_codes(),
            }
            return vary_on_htmx(render(request, "transactions/_created.html", context))
    if is_htmx(request):
        context = {"form": form, "customer": customer, "site_codes": selectors.site_codes()}
        return vary_on_htmx(render(request, "transactions/_form.html", context))
    return render_customer_page(request, customer, transaction_form=form)
