"""Reads over playbooks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from bounceback.coach.scoring import CoachResult, Finding
from bounceback.customers.models import Customer
from bounceback.errors import NotFound
from bounceback.playbooks import coaching
from bounceback.playbooks.models import Playbook, PlaybookTemplate, PlaybookVersion, TemplatePurpose
from bounceback.playbooks.templating import customer_values, render, template_problems


def template_for(
    *, version: PlaybookVersion, purpose: str, channel: str, language: str = "en"
) -> PlaybookTemplate | None:
    """The best template for a customer: their channel and language first.

    Falls back to the channel in English, then to the same language on email,
    then to English email; None when the playbook has no template for the purpose.
    A language like "fr-CA" also matches templates written for "fr".
    """
    rows = [t for t in _templates(version) if t.purpose == purpose]
    base = language.split("-")[0].lower() if language else "en"
    wanted = [
        (channel, language.lower()),
        (channel, base),
        (channel, "en"),
        ("email", language.lower()),
        ("email", base),
        ("email", "en"),
    ]
    by_key = {(t.channel, t.language.lower()): t for t in rows}
    for key in wanted:
        if key in by_key:
            return by_key[key]
    return None


def _templates(version: PlaybookVersion) -> list[PlaybookTemplate]:
    # Reuses a prefetch_related("templates") when the caller made one.
    cache = getattr(version, "_prefetched_objects_cache", {})
    if "templates" in cache:
        return list(cache["templates"])
    return list(version.templates.all())


def playbook_list(*, include_archived: bool = False) -> QuerySet[Playbook]:
    """Playbooks with what they answer, their current version and its counts, in two queries."""
    rows = Playbook.objects.select_related("failure_mode", "current").annotate(
        action_count=Count("current__actions", distinct=True),
        template_count=Count("current__templates", distinct=True),
        version_count=Count("versions", distinct=True),
    )
    if not include_archived:
        rows = rows.filter(archived=False)
    return rows


def playbook_version_full(*, playbook: Playbook, number: int | None = None) -> PlaybookVersion:
    """One version (the current one by default) with its rows, ready to show in full."""
    rows = (
        PlaybookVersion.objects.filter(playbook=playbook)
        .prefetch_related("actions", "templates", "compensations")
        .select_related("created_by")
    )
    if number is None:
        if playbook.current_id is None:
            raise NotFound("this playbook has no version yet", field="number")
        version = rows.filter(pk=playbook.current_id).first()
    else:
        version = rows.filter(number=number).first()
    if version is None:
        raise NotFound(f"this playbook has no version {number}", field="number")
    return version


@dataclass
class TemplatePreview:
    subject: str
    body: str
    # The apology coach's score of the first message; None for other purposes
    # and for languages the coach cannot read. For an apology, `coach.rewrite` is
    # the suggested wording of the apology template itself, placeholders kept.
    coach: CoachResult | None
    findings: list[Finding]
    # The message the coach read: for an apology, apology + explanation + alternatives.
    scored_text: str = ""
    problems: list[str] | None = None
    # The language the coach could not read, for the editor to say so.
    not_scored: str = ""


def template_preview(
    *,
    purpose: str,
    body: str,
    subject: str = "",
    language: str = "en",
    explanation: str = "",
    alternatives: str = "",
    title: str = "",
    customer: Customer | None = None,
) -> TemplatePreview:
    """The template as a customer would read it, with sample values (or this customer's name).

    An apology is coached as the first message it opens (with `explanation` and
    `alternatives` when given); other purposes get only the coach's phrasing
    problems, in `findings`.
    Unknown placeholders come back in `problems` rather than raising: the
    editor shows them while the person is still typing.
    """
    values = coaching.sample_values(title=title)
    if customer is not None:
        values = customer_values(values, customer_name=customer.name)
    problems = template_problems(subject) + template_problems(body)
    rendered_subject = render(subject, values)
    rendered_body = render(body, values)
    coach: CoachResult | None = None
    findings: list[Finding] = []
    scored = ""
    not_scored = ""
    if body.strip() and coaching.is_scored(language):
        if purpose == TemplatePurpose.APOLOGY:
            parts = {
                TemplatePurpose.APOLOGY.value: body,
                TemplatePurpose.EXPLANATION.value: explanation,
                TemplatePurpose.ALTERNATIVES.value: alternatives,
            }
            scored = coaching.first_message(parts, values)
            coach = coaching.score_first_message(
                text=scored, title=title, values=values, language=language
            )
            # The rewrite of the rendered message could not be pasted back into
            # a template; the editor gets the template's own.
            coach.rewrite = coaching.apology_rewrite(
                parts=parts, values=values, title=title, language=language
            )
        else:
            findings = coaching.problems_only(text=body, values=values, language=language)
            scored = rendered_body
    elif body.strip():
        not_scored = language
    return TemplatePreview(
        subject=rendered_subject,
        body=rendered_body,
        coach=coach,
        findings=coach.findings if coach is not None else findings,
        scored_text=scored,
        problems=sorted(set(problems)),
        not_scored=not_scored,
    )
