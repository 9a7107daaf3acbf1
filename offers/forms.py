"""Forms of the Offers pages; the line form comes from orders."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offers.models import Offer, OfferStatus, OfferTemplate
from orders.forms import DATE_INPUT, LineForm, RecordFormMixin

__all__ = ["LineForm", "OfferForm", "OfferStatusForm", "OfferTemplateForm", "ShareForm"]


class OfferForm(RecordFormMixin, forms.ModelForm):
    custom_field_entity = "offer"

    class Meta:
        model = Offer
        fields = [
            "account",
            "billing_account",
            "name",
            "price_list",
            "billing_plan",
            "offer_date",
            "valid_until",
            "permission_rule",
            "terms",
            "notes",
        ]
        widgets = {
            "offer_date": DATE_INPUT,
            "valid_until": DATE_INPUT,
            "terms": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Empty: the account name and the offer number.")
        self.fields["valid_until"].required = False
        self.fields["valid_until"].help_text = _("Empty: 30 days after the offer date.")
        self.fields["offer_date"].initial = timezone.localdate()
        self.setup_record_fields(user=user, instance=self.instance)

    def _post_clean(self) -> None:
        """The service validates the offer."""

    def service_arguments(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self._meta.fields}
        for name in ("name", "terms", "notes"):
            data[name] = data.get(name) or ""
        data["custom_data"] = self.custom_data_input
        return data


class OfferStatusForm(forms.ModelForm):
    class Meta:
        model = OfferStatus
        fields = ["name", "status_type", "is_active", "is_default", "is_draft", "color", "position"]
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def _post_clean(self) -> None:
        """The service validates the status."""

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class OfferStatusChangeForm(forms.Form):
    status = forms.ModelChoiceField(
        label=_("Status"), queryset=OfferStatus.objects.filter(is_active=True)
    )


class ShareForm(forms.Form):
    contacts = forms.ModelMultipleChoiceField(
        label=_("Email the PDF to"),
        required=False,
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
    )
    create_link = forms.BooleanField(
        label=_("Create a link where the customer can view, accept or decline"),
        required=False,
        initial=True,
    )
    message = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, offer: Offer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = offer.account.contacts.order_by(
            "-is_primary", "last_name"
        )
        self.fields["contacts"].label_from_instance = lambda c: f"{c.full_name} <{c.email}>"


class OfferTemplateForm(forms.ModelForm):
    class Meta:
        model = OfferTemplate
        fields = [
            "primary_color",
            "accent_color",
            "show_logo",
            "header_text",
            "footer_text",
            "terms",
            "show_signature_block",
        ]
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "accent_color": forms.TextInput(attrs={"type": "color"}),
            "header_text": forms.Textarea(attrs={"rows": 3}),
            "footer_text": forms.Textarea(attrs={"rows": 2}),
            "terms": forms.Textarea(attrs={"rows": 5}),
        }

    def _post_clean(self) -> None:
        """The service validates the template."""

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class RespondForm(forms.Form):
    name = forms.CharField(label=_("Your full name"), max_length=200)
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
