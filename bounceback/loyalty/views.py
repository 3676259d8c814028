"""The loyalty page: does recovery pay, and the customers behind each figure."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from bounceback.accounts.roles import Role
from bounceback.charts.svg import Bar, ReferenceLine, Series, bar_chart, step_chart
from bounceback.loyalty.forms import LoyaltyFilterForm
from bounceback.loyalty.selectors import COHORTS, LoyaltyReport, cohort_rows, loyalty_report
from bounceback.web.permissions import role_required


def _report(request: HttpRequest) -> tuple[LoyaltyFilterForm, LoyaltyReport | None]:
    form = LoyaltyFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, None
    if not request.GET:
        form = LoyaltyFilterForm({})
        form.is_valid()
    since, until = form.period()
    return form, loyalty_report(since=since, until=until, filters=form.filters())


@require_GET
@login_required
@role_required(Role.LEAD)
def loyalty_page(request: HttpRequest) -> HttpResponse:
    form, report = _report(request)
    context: dict[str, object] = {"form": form, "report": report, "query": request.GET.urlencode()}
    if report is not None:
        if request.GET.get("format") == "csv":
            return _cohorts_csv(report)
        context.update(_charts(report, request.GET.urlencode()))
    return render(request, "loyalty/report.html", context, status=200 if report else 400)


def _charts(report: LoyaltyReport, query: str) -> dict[str, object]:
    suffix = f"?{query}" if query else ""
    window = 90 if any(c.returned[90].n for c in report.cohorts) else 30
    bars = [
        Bar(
            label=c.label,
            value=c.returned[window].value,
            low=c.returned[window].low,
            high=c.returned[window].high,
            href=reverse("loyalty:cohort", args=[c.key]) + suffix,
            note=f" of {c.returned[window].n}",
        )
        for c in report.cohorts
    ]
    returned = bar_chart(
        title=f"Bought again within {window} days of their failure",
        bars=bars,
        references=[ReferenceLine(r.value, r.label) for r in report.references],
    )
    curves = step_chart(
        title="Not yet back: share of customers who have not bought again",
        series=[
            Series(
                label=c.label,
                points=[(s.day, s.survival) for s in c.curve],
                band=[(s.day, s.low, s.high) for s in c.curve],
                href=reverse("loyalty:cohort", args=[c.key]) + suffix,
            )
            for c in report.cohorts
        ],
        x_label="Days since the failure",
        y_label="Not yet back",
        x_max=180,
    )
    return {"returned_chart": returned, "curve_chart": curves, "window": window}


def _cohorts_csv(report: LoyaltyReport) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="loyalty-cohorts.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "cohort", "customers",
            "returned_30", "of_30", "returned_90", "of_90", "returned_180", "of_180",
            f"spend_per_30_days_before_{report.currency}",
            f"spend_per_30_days_after_{report.currency}",
            "median_days_to_return",
        ]
    )  # fmt: skip
    for c in report.cohorts:
        row: list[object] = [c.label, c.customers]
        for days in (30, 90, 180):
            row += [c.returned[days].k, c.returned[days].n]
        row += [
            _round(c.spend_before.value),
            _round(c.spend_after.value),
            _round(c.median_days_to_return),
        ]
        writer.writerow(row)
    return response


def _round(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@require_GET
@login_required
@role_required(Role.LEAD)
def cohort_members(request: HttpRequest, key: str) -> HttpResponse:
    if key not in COHORTS:
        raise Http404("No such cohort.")
    form, report = _report(request)
    rows = cohort_rows(report, key) if report else []
    return render(
        request,
        "loyalty/cohort.html",
        {
            "form": form,
            "report": report,
            "label": COHORTS[key],
            "key": key,
            "rows": rows,
            "query": request.GET.urlencode(),
        },
        status=200 if report else 400,
    )
