"""The public side: the report form, magic links into the portal, replies, the survey.

Rules for callers:
- Nothing here may tell a visitor whether an email address belongs to a
  customer: the form and the link request answer the same either way.
- Rate limits count `WebFormSubmission` rows. A request over the limit is
  refused without storing anything of it (an attacker must not be able to
  fill the database through the refusals); the function returns an unsaved
  row with the rate_limited outcome rather than raising, and the caller
  answers HTTP 429 for it. Rows that only served the limit are pruned.
- Tokens leave this module only inside URLs; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.customers.models import Channel, Customer, CustomerEmail
from bounceback.errors import Conflict, NotFound, ServiceError, ValidationFailed
from bounceback.inputs import datetime_in_range, text_field
from bounceback.portal.models import PortalLink, SurveyInvitation, WebFormSubmission

if TYPE_CHECKING:
    from bounceback.outbox.models import OutboundMessage

SURVEY_SALT = "bounceback.survey"
RATE_WINDOW = timedelta(hours=1)

# How a customer may ask to be contacted from the form, as customer channels.
CONTACT_CHOICES: list[tuple[str, str]] = [
    (Channel.EMAIL.value, "Email"),
    (Channel.PHONE.value, "Phone call"),
    (Channel.SMS.value, "Text message (SMS)"),
    (Channel.WEB.value, "Here, on this website"),
]
WILL_RETURN_CHOICES = [("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")]
_WILL_RETURN = {"yes": True, "no": False, "not_sure": None}


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429


def token_hash(token: str) -> str:
    """What is stored of a magic-link or survey token: its SHA-256 (the token never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _public_url(path: str) -> str:
    return f"{settings.BOUNCEBACK_PUBLIC_URL}{path}"


def _over_limit(*, kind: str, ip: str | None, email: str, now: datetime) -> bool:
    """Whether this address or email has used up its requests for the hour.

    Refused requests do not count, so a customer who hit the limit can come
    back an hour after their last accepted one.
    """
    recent = WebFormSubmission.objects.filter(kind=kind, created_at__gt=now - RATE_WINDOW).exclude(
        outcome=WebFormSubmission.Outcome.RATE_LIMITED
    )
    if ip and recent.filter(ip=ip).count() >= settings.BOUNCEBACK_FORM_LIMIT_PER_IP:
        return True
    return bool(
        email and recent.filter(email=email).count() >= settings.BOUNCEBACK_FORM_LIMIT_PER_EMAIL
    )


def _refused(row: WebFormSubmission) -> WebFormSubmission:
    """The answer to a request over the limit: nothing of it is kept, not even who sent it."""
    return WebFormSubmission(
        kind=row.kind, outcome=WebFormSubmission.Outcome.RATE_LIMITED, created_at=row.created_at
    )


# Rows that are not a case's record are kept only while the limits may count them.
SUBMISSION_KEEP = timedelta(days=1)


def web_submissions_prune(*, now: datetime | None = None) -> int:
    """Forget link requests, honeypot catches and refusals older than a day (hourly
    housekeeping). A report that opened a case stays: it is what the customer wrote."""
    now = now or timezone.now()
    deleted, _ = WebFormSubmission.objects.filter(
        case__isnull=True, created_at__lt=now - max(SUBMISSION_KEEP, RATE_WINDOW)
    ).delete()
    return deleted


# --- Magic links ---------------------------------------------------------------------------


def portal_link_create(*, customer: Customer, purpose: str) -> tuple[PortalLink, str]:
    """A fresh one-time link into `customer`'s portal and its URL (the only copy of the token)."""
    if purpose not in PortalLink.Purpose.values:
        raise ValidationFailed(f"unknown link purpose {purpose!r}", field="purpose")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    link = PortalLink.objects.create(
        customer=customer,
        token_hash=token_hash(token),
        purpose=purpose,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.BOUNCEBACK_PORTAL_LINK_MINUTES),
    )
    return link, _public_url(reverse("portal:enter", args=[token]))


def portal_link_problem(link: PortalLink | None, *, now: datetime | None = None) -> str | None:
    """Why this link cannot be used, or None when it can."""
    now = now or timezone.now()
    if link is None:
        return "This link is not valid. Links only work exactly as we sent them."
    if link.used_at is not None:
        return "This link has already been used. Each link works once."
    if link.expires_at <= now:
        return "This link has expired."
    return None


@transaction.atomic
def portal_link_consume(*, token: str) -> Customer:
    """Use the link once; returns whose portal it opens."""
    link = (
        PortalLink.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(token_hash=token_hash(token))
        .first()
    )
    problem = portal_link_problem(link)
    if problem or link is None:
        raise Conflict(problem or "", code="link_unusable")
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return link.customer


def _link_minutes() -> str:
    minutes = settings.BOUNCEBACK_PORTAL_LINK_MINUTES
    return (
        f"{minutes} minutes"
        if minutes % 60
        else f"{minutes // 60} hour{'s' if minutes > 60 else ''}"
    )


def _link_note(url: str) -> str:
    return (
        f"See your cases, read our replies and write to us here:\n{url}\n\n"
        f"This link works once and for {_link_minutes()}. You can always ask for a new one "
        f"at {_public_url(reverse('portal:login'))}"
    )


@transaction.atomic
def portal_link_request(*, email: str, ip: str | None) -> WebFormSubmission:
    """Someone asks for a link by email address; a link goes out only if we know it."""
    from bounceback.customers.services import email_normalise
    from bounceback.outbox.services import outbox_enqueue

    address = email_normalise(address=email, field="email")
    now = timezone.now()
    row = WebFormSubmission(
        kind=WebFormSubmission.Kind.LOGIN,
        email=address.lower(),
        ip=ip,
        data={"email": address},
        created_at=now,
    )
    if _over_limit(kind=row.kind, ip=ip, email=row.email, now=now):
        return _refused(row)
    row.outcome = WebFormSubmission.Outcome.ACCEPTED
    row.save()
    known = CustomerEmail.objects.filter(address__iexact=address).select_related("customer").first()
    if known is not None:
        _, url = portal_link_create(customer=known.customer, purpose=PortalLink.Purpose.LOGIN)
        outbox_enqueue(
            channel=Channel.EMAIL,
            to_address=known.address,
            subject=f"Your link to {settings.BOUNCEBACK_PORTAL_NAME}",
            body_text=f"Hello {known.customer.name},\n\n{_link_note(url)}\n\n"
            "If you did not ask for this link, you can ignore this email.",
            customer=known.customer,
        )
    return row


def portal_notice(*, message: OutboundMessage) -> tuple[str, str]:
    """Subject and text of the email announcing a message sent by web (an OutboundMessage).

    Writes a new magic link each time: each notice opens the portal once.
    """
    customer = message.customer
    if customer is None:
        raise ValidationFailed("a portal message needs its customer", field="customer")
    _, url = portal_link_create(customer=customer, purpose=PortalLink.Purpose.NOTICE)
    subject = message.subject or f"A message from {settings.BOUNCEBACK_PORTAL_NAME}"
    body = (
        f"Hello {customer.name},\n\nWe have written to you:\n\n{message.body_text}\n\n"
        f"{_link_note(url)}"
    )
    return subject, body


# --- The report form -----------------------------------------------------------------------


@dataclass(frozen=True)
class WebReport:
    """What a visitor told us on the form (already parsed by the form)."""

    name: str
    email: str
    what_happened: str
    contact_by: str = Channel.EMAIL
    phone: str = ""
    happened_at: datetime | None = None
    site: Any = None
    where_else: str = ""
    wanted: str = ""


def _check_report(report: WebReport, now: datetime) -> WebReport:
    from bounceback.customers.services import email_normalise, phone_normalise

    name = text_field(report.name, field="name", max_length=200, required=True, label="Your name")
    email = email_normalise(address=report.email, field="email")
    phone = report.phone.strip()
    if phone:
        phone = phone_normalise(number=phone, field="phone")
    what = text_field(
        report.what_happened,
        field="what_happened",
        max_length=5000,
        required=True,
        label="What happened",
    )
    if report.happened_at is not None:
        if timezone.is_naive(report.happened_at):
            raise ValidationFailed("give the time with its time zone", field="happened_at")
        datetime_in_range(report.happened_at, field="happened_at")
        if report.happened_at > now:
            raise ValidationFailed("that time is in the future", field="happened_at")
    where_else = text_field(
        report.where_else, field="where_else", max_length=200, label="Where it happened"
    )
    wanted = text_field(
        report.wanted, field="wanted", max_length=2000, label="What you would like us to do"
    )
    if report.contact_by not in dict(CONTACT_CHOICES):
        raise ValidationFailed("choose how we should contact you", field="contact_by")
    if report.contact_by in (Channel.PHONE, Channel.SMS) and not phone:
        raise ValidationFailed("give a phone number so we can call or text you", field="phone")
    return WebReport(
        name=name,
        email=email,
        what_happened=what,
        contact_by=report.contact_by,
        phone=phone,
        happened_at=report.happened_at,
        site=report.site,
        where_else=where_else,
        wanted=wanted,
    )


def _report_data(report: WebReport) -> dict[str, Any]:
    return {
        "name": report.name,
        "email": report.email,
        "phone": report.phone,
        "what_happened": report.what_happened,
        "happened_at": report.happened_at.isoformat() if report.happened_at else None,
        "site": report.site.code if report.site is not None else None,
        "where_else": report.where_else,
        "wanted": report.wanted,
        "contact_by": report.contact_by,
    }


def _customer_for(report: WebReport) -> Customer:
    """The customer holding this email, or a new one.

    An existing customer's details are never changed from the public form:
    anyone can type anyone's address, so what they typed goes on the case only.
    """
    from bounceback.customers.services import customer_create

    known = CustomerEmail.objects.filter(address__iexact=report.email).select_related("customer")
    if (found := known.first()) is not None:
        return found.customer
    # The phone number stays off the customer (it is in the case description):
    # nothing proves it is theirs, and SMS and calls are matched to customers by
    # their numbers, so a typed number would let a stranger receive someone
    # else's messages. Staff add it once they have called it. The email is
    # proved by the magic link, which only its owner can open.
    try:
        with transaction.atomic():
            return customer_create(
                name=report.name,
                emails=[report.email],
                preferred_channel=report.contact_by,
            )
    except Conflict:
        # Another request created this customer a moment ago.
        if (found := known.first()) is not None:
            return found.customer
        raise


def _description(report: WebReport, customer: Customer) -> str:
    when = (
        timezone.localtime(report.happened_at).strftime("%Y-%m-%d %H:%M %Z")
        if report.happened_at
        else "not given"
    )
    if report.site is not None:
        where = report.site.name
    else:
        where = f"elsewhere: {report.where_else}" if report.where_else else "not given"
    lines = [
        "Reported through the public web form.",
        f"When: {when}",
        f"Where: {where}",
        f"What they would like us to do: {report.wanted or 'not given'}",
        f"Prefers to be contacted by: {dict(CONTACT_CHOICES)[report.contact_by]}",
    ]
    if report.phone:
        lines.append(f"Phone given: {report.phone}")
    if report.name != customer.name:
        lines.append(f"Name given: {report.name}")
    return "\n".join(lines)


def _summary(text: str) -> str:
    first = text.strip().splitlines()[0].strip()
    return first if len(first) <= 120 else first[:119].rstrip() + "…"


@transaction.atomic
def web_report_submit(
    *, report: WebReport, ip: str | None, honeypot: str = ""
) -> WebFormSubmission:
    """Turn a public report into a case, and email the reporter a link to follow it.

    Returns the stored submission: `outcome` says whether a case was opened
    (accepted), the request was over a limit (rate_limited) or it came from a
    bot that filled the hidden field (honeypot; nothing else is written).
    """
    from bounceback.cases.services import case_log_customer_message, case_open
    from bounceback.mail.outgoing import case_email
    from bounceback.outbox.services import outbox_enqueue

    now = timezone.now()
    report = _check_report(report, now)
    row = WebFormSubmission(
        kind=WebFormSubmission.Kind.REPORT,
        email=report.email.lower(),
        ip=ip,
        data=_report_data(report),
        created_at=now,
    )
    if _over_limit(kind=row.kind, ip=ip, email=row.email, now=now):
        return _refused(row)
    if honeypot.strip():
        row.outcome = WebFormSubmission.Outcome.HONEYPOT
        row.data["honeypot"] = honeypot[:200]
        row.save()
        return row
    customer = _customer_for(report)
    case = case_open(
        customer=customer,
        summary=_summary(report.what_happened),
        description=_description(report, customer),
        actor=None,
        channel=Channel.WEB,
        site=report.site,
        opened_at=now,
    )
    message = report.what_happened
    if report.wanted:
        message += f"\n\nWhat I would like you to do: {report.wanted}"
    case_log_customer_message(
        case=case,
        actor=None,
        body=message,
        channel=Channel.WEB,
        subject="Reported on the web form",
        occurred_at=now,
    )
    _, url = portal_link_create(customer=customer, purpose=PortalLink.Purpose.REPORT)
    email = case_email(
        case=case,
        subject=f"[{case.reference}] We have your report",
        body=(
            f"Hello {report.name},\n\nThank you for telling us what went wrong. Your reference "
            f"is {case.reference}; someone will be in touch soon.\n\n{_link_note(url)}"
        ),
    )
    outbox_enqueue(
        channel=Channel.EMAIL,
        to_address=report.email,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        reply_to=email.reply_to,
        in_reply_to=email.in_reply_to,
        references=email.references,
        customer=customer,
        headers={"X-Bounceback-Case": case.reference or str(case.pk)},
    )
    row.outcome = WebFormSubmission.Outcome.ACCEPTED
    row.case = case
    row.save()
    return row


# --- The portal ----------------------------------------------------------------------------


@transaction.atomic
def portal_reply(*, customer: Customer, case: Case, body: str) -> Case:
    """The customer writes on one of their cases from the portal."""
    from bounceback.cases.services import case_log_customer_message

    if case.customer_id != customer.pk:
        raise NotFound("no such case")
    body = text_field(body, field="body", max_length=10_000, required=True, label="Your message")
    if case.status == Case.Status.CLOSED:
        raise Conflict("this case is closed", field="body", code="case_closed")
    return case_log_customer_message(case=case, actor=None, body=body, channel=Channel.WEB)


# --- The follow-up survey ------------------------------------------------------------------


def survey_invitation_create(*, case: Case) -> tuple[SurveyInvitation, str]:
    """An invitation to answer the follow-up survey for `case`, and its link.

    Call inside the transaction that sends the follow-up. The token is signed
    (tampering is caught before any lookup), names the invitation, and carries
    randomness so it cannot be guessed from the id; only its hash is stored.
    """
    now = timezone.now()
    invitation = SurveyInvitation.objects.create(
        case=case,
        # Replaced below once the id is known; random so it can never collide.
        token_hash=token_hash(secrets.token_hex(32)),
        created_at=now,
        expires_at=now + timedelta(days=settings.BOUNCEBACK_SURVEY_DAYS),
    )
    token = signing.dumps([invitation.pk, secrets.token_urlsafe(16)], salt=SURVEY_SALT)
    invitation.token_hash = token_hash(token)
    invitation.save(update_fields=["token_hash"])
    return invitation, _public_url(reverse("portal:survey", args=[token]))


class SurveyUnusable(Conflict):
    code = "survey_unusable"


def _invitation_for_token(token: str, *, lock: bool) -> SurveyInvitation:
    try:
        invitation_id, _ = signing.loads(token, salt=SURVEY_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        raise SurveyUnusable(
            "This survey link is not valid. Links only work exactly as we sent them."
        ) from None
    rows = SurveyInvitation.objects.select_related("case__customer")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(pk=invitation_id).first()
    if invitation is None or not hmac.compare_digest(invitation.token_hash, token_hash(token)):
        raise SurveyUnusable(
            "This survey link is not valid. Links only work exactly as we sent them."
        )
    return invitation


def survey_problem(invitation: SurveyInvitation, *, now: datetime | None = None) -> str | None:
    """Why this invitation cannot be answered now, or None when it can."""
    now = now or timezone.now()
    case = invitation.case
    if invitation.used_at is not None:
        return "You have already answered this survey. Thank you!"
    if invitation.expires_at <= now:
        return "This survey link has expired."
    waiting = (
        case.status != Case.Status.CLOSED
        and case.follow_up_sent_at is not None
        and case.follow_up_recorded_at is None
    )
    newer = SurveyInvitation.objects.filter(case_id=invitation.case_id, pk__gt=invitation.pk)
    if not waiting or newer.exists():
        return "This case is no longer waiting for your answer to this survey."
    return None


def survey_for_token(*, token: str) -> SurveyInvitation:
    """The invitation behind a survey link, if it can be answered; SurveyUnusable otherwise."""
    invitation = _invitation_for_token(token, lock=False)
    if problem := survey_problem(invitation):
        raise SurveyUnusable(problem)
    return invitation


def _check_answer(satisfaction: Any, will_return: str, comment: str) -> tuple[int, str, str]:
    try:
        score = int(satisfaction)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed("choose a score from 1 to 5", field="satisfaction")
    if will_return not in _WILL_RETURN:
        raise ValidationFailed("choose yes, no or not sure", field="will_return")
    comment = text_field(comment, field="comment", max_length=5000, label="Your comment")
    return score, will_return, comment


def _survey_record(
    invitation: SurveyInvitation, *, score: int, will_return: str, comment: str
) -> SurveyInvitation:
    """The caller holds the invitation's row lock and has checked it can be answered."""
    from bounceback.cases.services import case_record_follow_up
    from bounceback.webhooks.events import webhook_publish

    case = invitation.case
    satisfied = score >= 4
    case = case_record_follow_up(
        case=case,
        actor=None,
        satisfied=satisfied,
        will_return=_WILL_RETURN[will_return],
        comment=comment,
        score=score,
        answered_by=f"{case.customer.name} (survey)",
    )
    invitation.used_at = timezone.now()
    invitation.answers = {
        "satisfaction": score,
        "will_return": _WILL_RETURN[will_return],
        "comment": comment,
    }
    invitation.save(update_fields=["used_at", "answers"])
    if case.drill_id is not None:  # a drill's survey stays in the sandbox
        return invitation
    webhook_publish(
        event="survey.answered",
        payload={
            "case": {"id": case.pk, "reference": case.reference, "status": case.status},
            "customer": {"id": case.customer_id, "name": case.customer.name},
            "satisfaction": score,
            "satisfied": satisfied,
            "will_return": _WILL_RETURN[will_return],
            "comment": comment,
            "recovery_reopened": not satisfied,
            "answered_at": invitation.used_at.isoformat(),
        },
    )
    return invitation


@transaction.atomic
def survey_answer(
    *, token: str, satisfaction: int, will_return: str, comment: str = ""
) -> SurveyInvitation:
    """Record the customer's survey answer on the case's follow-up step, once.

    An unhappy answer (satisfaction 1-3) reopens the recovery through
    `case_record_follow_up`, which gives the assignee a new task.
    """
    score, will_return, comment = _check_answer(satisfaction, will_return, comment)
    invitation = _invitation_for_token(token, lock=True)
    if problem := survey_problem(invitation):
        raise SurveyUnusable(problem)
    return _survey_record(invitation, score=score, will_return=will_return, comment=comment)


@transaction.atomic
def portal_survey_answer(
    *,
    customer: Customer,
    invitation_id: int,
    satisfaction: int,
    will_return: str,
    comment: str = "",
) -> SurveyInvitation:
    """The same answer given inside the portal, where the session stands in for the token."""
    score, will_return, comment = _check_answer(satisfaction, will_return, comment)
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("case__customer")
        .filter(pk=invitation_id, case__customer=customer)
        .first()
    )
    if invitation is None:
        raise NotFound("no such survey")
    if problem := survey_problem(invitation):
        raise SurveyUnusable(problem)
    return _survey_record(invitation, score=score, will_return=will_return, comment=comment)
