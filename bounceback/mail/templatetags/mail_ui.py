from __future__ import annotations

from typing import Any

from django import template

from bounceback.mail.selectors import case_emails

register = template.Library()


@register.inclusion_tag("mail/_case_mail.html", takes_context=True)
def case_received_mail(context: dict[str, Any], case: Any) -> dict[str, Any]:
    """Emails received on a case (bounces included) and their files, for staff who read mail."""
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = bool(user and user.has_perm("mail.view_inboundemail"))
    emails = case_emails(case_id=case.pk) if allowed else []
    return {"emails": emails, "allowed": allowed}
