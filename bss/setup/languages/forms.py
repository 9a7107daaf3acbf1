from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class StringSearchForm(forms.Form):
    SHOW_CHOICES = [
        ("", _("All strings")),
        ("overridden", _("Overridden")),
        ("untranslated", _("Not translated")),
    ]
    q = forms.CharField(label=_("Source or translation contains"), required=False)
    show = forms.ChoiceField(label=_("Show"), choices=SHOW_CHOICES, required=False)


class OverrideForm(forms.Form):
    translation = forms.CharField(
        label=_("Text shown"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Keep placeholders such as %(name)s exactly as in the source."),
    )


class PackImportForm(forms.Form):
    file = forms.FileField(
        label=_("Language pack (.xlsx)"),
        widget=forms.FileInput(attrs={"accept": ".xlsx"}),
        help_text=_(
            "Columns: source, context (optional) and one language code, as in an exported pack."
        ),
    )
