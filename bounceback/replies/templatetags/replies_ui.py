"""The canned-reply picker of a compose box.

{% canned_picker target="update_body" purpose="update" %}
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from bounceback.replies.models import CannedReply

register = template.Library()


@register.inclusion_tag("replies/_picker.html", takes_context=True)
def canned_picker(context: Any, *, target: str, purpose: str) -> dict[str, Any]:
    """A list of the active replies, this purpose's first; read once per page."""
    cache = context.render_context
    if "canned_replies" not in cache:
        cache["canned_replies"] = list(CannedReply.objects.active().only("id", "title", "purpose"))
    replies: list[CannedReply] = cache["canned_replies"]
    first = [r for r in replies if r.purpose == purpose]
    rest = [r for r in replies if r.purpose != purpose]
    case = context.get("case")
    url = ""
    if case is not None:
        # The reply id is filled in by the script: /replies/0/for-case/<case>/ -> /replies/<id>/...
        url = reverse("replies:for_case", args=[0, case.pk])
    return {
        "target": target,
        "first": first,
        "rest": rest,
        "purpose_label": CannedReply.Purpose(purpose).label if purpose else "",
        "url": url,
    }
