from __future__ import annotations

from django import forms

from bounceback.replies.models import CannedReply
from bounceback.replies.templating import CASE_PLACEHOLDERS

PLACEHOLDER_HELP = "Placeholders: " + ", ".join(f"{{{{ {name} }}}}" for name in CASE_PLACEHOLDERS)


class CannedReplyForm(forms.Form):
    title = forms.CharField(max_length=120, help_text="What staff pick it by in the compose box.")
    purpose = forms.ChoiceField(choices=CannedReply.Purpose.choices)
    body = forms.CharField(
        label="Text",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=PLACEHOLDER_HELP,
    )
