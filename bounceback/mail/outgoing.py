"""What an email about a case looks like on the wire: threading headers, parts, reply-to.

A reply from the customer must land back in the case whatever their mail
client keeps: In-Reply-To/References name our Message-IDs (and theirs), the
Reply-To carries the case reference as a plus-address tag, and the subject
keeps `[BB-00012]`. Intake (`bounceback.mail.services`) recognises all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.utils.html import escape

REFERENCES_MAX = 20
_REFERENCE_TAG = re.compile(r"\+(BB-\d+)@", re.IGNORECASE)


@dataclass(frozen=True)
class CaseEmail:
    subject: str
    body_text: str
    body_html: str = ""
    reply_to: str = ""
    in_reply_to: str = ""
    references: str = ""


def reply_address() -> str:
    """The mailbox customers reply to (without a case tag), lower-cased."""
    configured = settings.BOUNCEBACK_MAIL_REPLY_ADDRESS or settings.DEFAULT_FROM_EMAIL
    return parseaddr(configured)[1].strip().lower()


def our_addresses() -> frozenset[str]:
    """Addresses we send from: mail from them is our own coming back (a loop)."""
    found = {reply_address()}
    for value in (settings.DEFAULT_FROM_EMAIL, getattr(settings, "SERVER_EMAIL", "")):
        address = parseaddr(value or "")[1].strip().lower()
        if address:
            found.add(address)
    return frozenset(a for a in found if "@" in a)


def untagged(address: str) -> str:
    """care+BB-00012@example.com -> care@example.com."""
    local, at, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}"


def case_reply_address(reference: str) -> str:
    local, _, domain = reply_address().partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{reference}@{domain}" if domain else ""


def reference_tag(address: str) -> str:
    """The case reference in a plus-address, upper-cased; '' when there is none."""
    match = _REFERENCE_TAG.search(address)
    return match.group(1).upper() if match else ""


def _bracket(message_id: str) -> str:
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _thread(case: Any) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for the next message on the case."""
    from bounceback.mail.models import InboundEmail
    from bounceback.outbox.models import OutboundMessage

    received = list(
        InboundEmail.objects.filter(case=case)
        .exclude(message_id="")
        .filter(state__in=[InboundEmail.State.ACCEPTED, InboundEmail.State.RELEASED])
        .order_by("-received_at", "-id")
        .values_list("received_at", "message_id")[:REFERENCES_MAX]
    )
    sent = list(
        OutboundMessage.objects.filter(interaction__case=case, channel="email")
        .order_by("-created_at", "-id")
        .values_list("created_at", "message_id")[:REFERENCES_MAX]
    )
    latest_in = _bracket(received[0][1]) if received else ""
    latest_out = sent[0][1] if sent else ""
    in_reply_to = latest_in or latest_out
    chain = [_bracket(mid) for _, mid in sorted(received + sent, key=lambda item: item[0])]
    if in_reply_to in chain:
        # The message we answer goes last, as mail clients expect.
        chain.remove(in_reply_to)
        chain.append(in_reply_to)
    return in_reply_to, chain[-REFERENCES_MAX:]


# A web address in a message's text; a trailing full stop, comma or closing
# bracket belongs to the sentence, not the link.
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _linked(line: str) -> str:
    """One line of text as HTML: escaped, with each web address a real link."""
    out: list[str] = []
    at = 0
    for found in _URL.finditer(line):
        out.append(escape(line[at : found.start()]))
        url = escape(found.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        at = found.end()
    out.append(escape(line[at:]))
    return "".join(out)


def _html(body: str, reference: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    parts = [
        "<p>" + "<br>\n".join(_linked(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    ]
    footer = (
        f'<p style="color:#666;font-size:12px;border-top:1px solid #ddd;padding-top:8px">'
        f"Case reference {escape(reference)}. Reply to this email to add to your case.</p>"
    )
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif;line-height:1.5">'
        + "\n".join(parts)
        + footer
        + "</body></html>"
    )


def case_email(*, case: Any, subject: str, body: str) -> CaseEmail:
    """The email for a message on `case`; call before its OutboundMessage is written."""
    reference = case.reference or ""
    subject = subject.strip() or case.summary
    if reference and f"[{reference}]" not in subject:
        subject = f"[{reference}] {subject}"
    in_reply_to, references = _thread(case)
    text = body.rstrip()
    if reference:
        text += f"\n\n--\nCase reference {reference}. Reply to this email to add to your case."
    return CaseEmail(
        subject=subject[:300],
        body_text=text,
        body_html=_html(body, reference) if reference else "",
        reply_to=case_reply_address(reference) if reference else "",
        in_reply_to=in_reply_to,
        references=" ".join(references),
    )
