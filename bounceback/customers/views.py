from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from bounceback.customers import selectors
from bounceback.customers.forms import CustomerForm, CustomerSearchForm
from bounceback.customers.models import Customer
from bounceback.customers.selectors import TimelineCursor
from bounceback.customers.services import customer_create
from bounceback.interactions.forms import InteractionForm
from bounceback.transactions.forms import TransactionForm
from bounceback.transactions.selectors import site_codes
from bounceback.web.actions import perform
from bounceback.web.htmx import is_htmx, vary_on_htmx

PAGE_SIZE = 25
TIMELINE_PAGE = 20


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    return sorted(available_timezones())


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    """Customers by name, searchable; htmx asks for the results table only."""
    form = CustomerSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.customer_list(query=query)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "query": query, "page_obj": page, "customers": page.object_list}
    template = "customers/_results.html" if is_htmx(request) else "customers/list.html"
    return vary_on_htmx(render(request, template, context))


@permission_required("customers.add_customer", raise_exception=True)
def customer_new(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    return perform(
        request,
        lambda data: customer_create(**data),
        form=form,
        page=lambda: render(
            request, "customers/new.html", {"form": form, "time_zones": _time_zones()}
        ),
        success=lambda customer: f"{customer.name} was added.",
        redirect_to=lambda customer: reverse("customers:detail", args=[customer.pk]),
    )


def timeline_context(customer: Customer, after: TimelineCursor | None = None) -> dict[str, Any]:
    entries, next_cursor = selectors.customer_timeline_page(
        customer=customer, after=after, limit=TIMELINE_PAGE
    )
    return {"customer": customer, "entries": entries, "next_cursor": next_cursor}


def value_context(customer: Customer) -> dict[str, Any]:
    return {"customer": customer, "values": selectors.customer_value_by_currency(customer=customer)}


def render_customer_page(
    request: HttpRequest,
    customer: Customer,
    *,
    interaction_form: InteractionForm | None = None,
    transaction_form: TransactionForm | None = None,
) -> HttpResponse:
    """The customer page; entry views re-render it with their bound form when it is invalid."""
    context = {
        **timeline_context(customer),
        **value_context(customer),
        "interaction_form": interaction_form or InteractionForm(prefix="interaction"),
        "transaction_form": transaction_form or TransactionForm(prefix="transaction"),
        "site_codes": site_codes(),
        "open_transaction": transaction_form is not None,
    }
    return render(request, "customers/detail.html", context)


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.with_identities(), pk=pk)
    return render_customer_page(request, customer)


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def customer_timeline_more(request: HttpRequest, pk: int) -> HttpResponse:
    """The next page of the timeline, for the "load more" button."""
    customer = get_object_or_404(Customer, pk=pk)
    after = TimelineCursor.decode(request.GET.get("before", ""))
    if after is None:
        return HttpResponseBadRequest("before must be a cursor from the timeline")
    context = timeline_context(customer, after=after)
    if is_htmx(request):
        return vary_on_htmx(render(request, "customers/_timeline_entries.html", context))
    # Without htmx, the older entries are a page of their own.
    return vary_on_htmx(render(request, "customers/timeline.html", context))
