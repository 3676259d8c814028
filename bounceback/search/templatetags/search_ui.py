"""Rendering a search snippet: its text escaped, the matched words in <mark>."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from bounceback.search.selectors import Snippet

register = template.Library()


@register.filter
def highlighted(snippet: Snippet) -> SafeString:
    parts: list[str] = []
    at = 0
    for start, end in snippet.marks:
        parts.append(conditional_escape(snippet.text[at:start]))
        parts.append(f"<mark>{conditional_escape(snippet.text[start:end])}</mark>")
        at = end
    parts.append(conditional_escape(snippet.text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 (every piece escaped above)
