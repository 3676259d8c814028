"""Placeholders in canned replies: the playbooks' engine with a case's values.

The same `{{ customer.first_name }}` syntax and the same refusal of unknown
names as playbook templates (`bounceback.playbooks.templating`); only the set
of names differs, because a canned reply is sent on one case by one person.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bounceback.playbooks.templating import first_name, render, template_problems

if TYPE_CHECKING:
    from bounceback.accounts.models import User
    from bounceback.cases.models import Case

CASE_PLACEHOLDERS: dict[str, str] = {
    "customer.name": "The customer's full name",
    "customer.first_name": "The customer's first name (the full name if it has one word)",
    "case.reference": "The case reference, e.g. BB-00042, so a reply lands on the case",
    "case.summary": "What went wrong, as the case summary says it",
    "site.name": "The case's site, or 'our site' when it has none",
    "staff.name": "Your name, as the customer reads it",
    "staff.first_name": "Your first name",
}

# What the coach reads when a reply is saved, and what the editor's preview shows.
SAMPLE_VALUES: dict[str, str] = {
    "customer.name": "Alex Morgan",
    "customer.first_name": "Alex",
    "case.reference": "BB-00042",
    "case.summary": "Car not ready on the day we promised",
    "site.name": "Harbourside Body Shop",
    "staff.name": "Sam Lee",
    "staff.first_name": "Sam",
}


def reply_problems(body: str) -> list[str]:
    """The unknown placeholders in a canned reply, as messages for its author."""
    return template_problems(body, CASE_PLACEHOLDERS)


def case_values(case: Case, staff: User | None) -> dict[str, str]:
    """The placeholder values for one case, sent by `staff`."""
    name = case.customer.name
    staff_name = staff.display_name if staff is not None else ""
    return {
        "customer.name": name,
        "customer.first_name": first_name(name),
        "case.reference": case.reference or "",
        "case.summary": case.summary,
        "site.name": case.site.name if case.site_id and case.site else "our site",
        "staff.name": staff_name,
        "staff.first_name": first_name(staff_name),
    }


def reply_render(body: str, values: dict[str, str]) -> str:
    return render(body, values)
