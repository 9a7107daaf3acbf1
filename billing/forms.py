"""Forms of the invoice pages: they parse input; billing.services decides and writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceLine
from billing.selectors import visible_invoices

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DebitInvoiceLookupForm(forms.Form):
    """Step one of a manual credit invoice: which debit invoice it credits."""

    number = forms.CharField(label=_("Debit invoice number"), max_length=40)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.invoice: Invoice | None = None

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        self.invoice = (
            visible_invoices(self.user)
            .filter(number__iexact=number, kind=InvoiceKind.DEBIT)
            .first()
        )
        if self.invoice is None:
            raise forms.ValidationError(_("No issued debit invoice %s is visible to you.") % number)
        return number


class CreditInvoiceForm(forms.Form):
    invoice_date = forms.DateField(
        label=_("Invoice date"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Empty = the day it is issued."),
    )
    linked_invoice = forms.ModelChoiceField(
        label=_("Related debit invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label=_("Automatic: the oldest unpaid debit invoice"),
    )
    credit_whole = forms.BooleanField(
        label=_("Credit the whole invoice"),
        required=False,
        help_text=_("Every line in full; the lines below are ignored."),
    )
    issue_now = forms.BooleanField(label=_("Issue at once"), required=False, initial=True)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, debit_invoice: Invoice, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["linked_invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            visible_invoices(user)
            .filter(
                billing_account=debit_invoice.billing_account,
                kind=InvoiceKind.DEBIT,
                status__in=OPEN_STATUSES,
            )
            .order_by("invoice_date", "sequence_number")
        )
        field.label_from_instance = lambda invoice: f"{invoice} · {invoice.invoice_date}"


class CreditLineForm(forms.Form):
    include = forms.BooleanField(label=_("Credit"), required=False)
    period_start = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    period_end = forms.DateField(label=_("To (inclusive)"), required=False, widget=DATE_INPUT)
    quantity = forms.DecimalField(
        label=_("Quantity"), required=False, min_value=0, decimal_places=4
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        min_value=0,
        decimal_places=4,
        help_text=_("Empty = prorated from the period and quantity."),
    )

    def __init__(self, *args: Any, line: InvoiceLine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        if not self.is_bound:
            self.initial.update(
                {
                    "period_start": line.period_start,
                    "period_end": line.last_day,
                    "quantity": line.quantity.normalize(),
                }
            )


def credit_line_forms(lines: list[InvoiceLine], data: Any = None) -> list[CreditLineForm]:
    return [CreditLineForm(data, line=line, prefix=f"line-{line.pk}") for line in lines]
