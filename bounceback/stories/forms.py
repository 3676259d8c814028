from __future__ import annotations

from typing import Any

from django import forms

from bounceback.accounts.models import User
from bounceback.failuremodes.models import Touchpoint
from bounceback.stories.models import Recognition, Story


class StoryFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200)
    tag = forms.CharField(required=False, label="Tag", max_length=40)
    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), *Story.State.choices], label="State"
    )


class StoryForm(forms.Form):
    title = forms.CharField(max_length=200)
    what_went_wrong = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    what_we_did = forms.CharField(
        label="What we did", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    gesture = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    customer_words = forms.CharField(
        label="The customer's words", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    prevention_idea = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    tags = forms.CharField(required=False, max_length=500, help_text="Separated by commas.")
    customer_named = forms.BooleanField(
        required=False, label="The customer agreed to be named in this story"
    )

    @classmethod
    def for_story(cls, story: Story) -> StoryForm:
        return cls(
            initial={
                **{name: getattr(story, name) for name in cls.base_fields if name != "tags"},
                "tags": ", ".join(story.tag_list),
            }
        )

    def changes(self, story: Story) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if ", ".join(story.tag_list) == data.get("tags", ""):
            data.pop("tags", None)
        return {k: v for k, v in data.items() if k == "tags" or getattr(story, k) != v}


class RecognitionForm(forms.Form):
    kind = forms.ChoiceField(choices=Recognition.Kind.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PreventionForm(forms.Form):
    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.all())
    title = forms.CharField(max_length=160)
    severity = forms.IntegerField(min_value=1, max_value=10, initial=5)
    occurrence = forms.IntegerField(min_value=1, max_value=10, initial=5)
    detection = forms.IntegerField(min_value=1, max_value=10, initial=5)


class PersonRecognitionForm(RecognitionForm):
    person = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True))
