"""Invoice pages: the list, the detail with its actions, the PDF, manual credit invoices.

Invoices belong to accounts, so every read goes through record visibility by the
billing account's owner and permission rule; an invoice a user may not see answers 404.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.models import Account
from billing import forms, selectors, services
from billing.models import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from billing.pdf import invoice_pdf_bytes
from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.money import format_money
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404, visible_records


def _ui_locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


def _money_column(field: str) -> Any:
    def shown(invoice: Invoice) -> str:
        return format_money(getattr(invoice, field), invoice.currency, _ui_locale())

    return shown


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=InvoiceStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=InvoiceKind.choices)
    account = django_filters.CharFilter(label=_("Account"), method="filter_account")
    invoice_date = django_filters.DateFromToRangeFilter(
        label=_("Invoice date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    overdue = django_filters.ChoiceFilter(
        label=_("Overdue"),
        choices=[("yes", _("Overdue")), ("no", _("Not overdue"))],
        method="filter_overdue",
    )

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(billing_account__name__icontains=value) | Q(billing_account__number__iexact=value)
        )

    def filter_overdue(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value not in ("yes", "no"):
            return queryset
        overdue = Q(status=InvoiceStatus.OVERDUE) | Q(
            kind=InvoiceKind.DEBIT,
            status__in=[InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID],
            due_date__lt=timezone.localdate(),
        )
        return queryset.filter(overdue) if value == "yes" else queryset.exclude(overdue)


class InvoiceListView(RecordListView):
    model = Invoice
    permission_module = "invoices"
    title = _("Invoices")
    filterset_class = InvoiceFilter
    search_fields = ("number", "customer_name", "billing_account__name", "billing_account__number")
    search_placeholder = _("Number or account")
    default_sort = "-invoice_date"
    create_url_name = "billing:credit_create"
    create_permission = ("invoices", "credit_manual")
    columns = [
        Column("number", _("Number"), sort="number", link=True, value=str, css="text-nowrap"),
        Column("kind", _("Type"), sort="kind", value=lambda invoice: invoice.get_kind_display()),
        Column(
            "status",
            _("Status"),
            sort="status",
            badge=True,
            value=lambda invoice: invoice.get_status_display(),
        ),
        Column("billing_account.name", _("Account"), sort="billing_account__name"),
        Column("invoice_date", _("Invoice date"), sort="invoice_date"),
        Column("due_date", _("Due date"), sort="due_date"),
        Column(
            "gross_total",
            _("Total"),
            sort="gross_total",
            value=_money_column("gross_total"),
            css="text-end text-nowrap",
        ),
        Column(
            "balance_due",
            _("Balance due"),
            sort="balance_due",
            value=_money_column("balance_due"),
            css="text-end text-nowrap",
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return selectors.invoice_list()


def _visible_invoice(request: HttpRequest, pk: int, access: str = "view") -> Invoice:
    return get_visible_or_404(selectors.invoice_with_details(), request.user, access, pk=pk)


@requires("invoices", "view")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _visible_invoice(request, pk)
    user = request.user
    is_issued = invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "tax_lines": list(invoice.tax_lines.all()),
        "credit_invoices": list(selectors.credit_invoices_of(invoice)),
        "locale": selectors.currency_culture(invoice.currency),
        "history": audit_trail(invoice)[:50],
        "may_issue": invoice.is_draft and user_has_permission(user, "invoices", "edit"),
        "may_void": invoice.is_draft and user_has_permission(user, "invoices", "delete"),
        "may_credit": is_issued
        and invoice.kind == InvoiceKind.DEBIT
        and user_has_permission(user, "invoices", "credit_manual"),
        "is_issued": is_issued,
        # The payments module (above billing) serves the form; billing only links to it.
        "may_pay": invoice.kind == InvoiceKind.DEBIT
        and invoice.status in OPEN_STATUSES
        and user_has_permission(user, "payments", "create"),
    }
    return render(request, "billing/invoice_detail.html", context)


def _run_action(request: HttpRequest, action: Any, success: str) -> None:
    try:
        action()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)


@require_POST
@requires("invoices", "edit")
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _visible_invoice(request, pk, "edit")
    _run_action(
        request,
        lambda: services.invoice_issue(actor=request.user, invoice=invoice),
        _t("The invoice is issued."),
    )
    return redirect(invoice.get_absolute_url())


@require_POST
@requires("invoices", "delete")
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _visible_invoice(request, pk, "delete")
    _run_action(
        request,
        lambda: services.invoice_void(actor=request.user, invoice=invoice),
        _t("The draft is void; its charges wait for the next invoice."),
    )
    return redirect(invoice.get_absolute_url())


@requires("invoices", "view")
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _visible_invoice(request, pk)
    content = invoice_pdf_bytes(invoice)
    if content is None:
        raise Http404("A draft has no PDF.")
    return FileResponse(
        io.BytesIO(content),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{invoice.number}.pdf",
    )


# ---------------------------------------------------------------------- credit invoices


@requires("invoices", "credit_manual")
def credit_create(request: HttpRequest) -> HttpResponse:
    """Insert items from a debit invoice (or its total) into a new credit invoice."""
    debit_pk = request.GET.get("invoice", "")
    if not debit_pk.isdigit():
        lookup = forms.DebitInvoiceLookupForm(request.GET or None, user=request.user)
        if lookup.is_bound and lookup.is_valid() and lookup.invoice is not None:
            return redirect(f"{reverse('billing:credit_create')}?invoice={lookup.invoice.pk}")
        return render(request, "billing/credit_lookup.html", {"form": lookup})
    debit_invoice = _visible_invoice(request, int(debit_pk))
    lines = [line for line in debit_invoice.lines.all() if line.net > 0]
    data = request.POST if request.method == "POST" else None
    form = forms.CreditInvoiceForm(data, debit_invoice=debit_invoice, user=request.user)
    line_forms = forms.credit_line_forms(lines, data)
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in line_forms):
        credit = _create_credit(request, form, line_forms, debit_invoice)
        if credit is not None:
            return redirect(credit.get_absolute_url())
    return render(
        request,
        "billing/credit_form.html",
        {
            "debit_invoice": debit_invoice,
            "form": form,
            "line_forms": line_forms,
            "locale": selectors.currency_culture(debit_invoice.currency),
        },
    )


def _create_credit(
    request: HttpRequest,
    form: forms.CreditInvoiceForm,
    line_forms: list[forms.CreditLineForm],
    debit_invoice: Invoice,
) -> Invoice | None:
    items = []
    for line_form in line_forms:
        data = line_form.cleaned_data
        if not data["include"]:
            continue
        end = data["period_end"] + timedelta(days=1) if data["period_end"] else None
        items.append(
            services.CreditItem(
                line=line_form.line,
                period_start=data["period_start"],
                period_end=end,
                quantity=data["quantity"],
                amount=data["amount"],
            )
        )
    try:
        credit = services.credit_invoice_create(
            actor=request.user,
            debit_invoice=debit_invoice,
            items=items,
            credit_whole=form.cleaned_data["credit_whole"],
            invoice_date=form.cleaned_data["invoice_date"],
            linked_invoice=form.cleaned_data["linked_invoice"],
            notes=form.cleaned_data["notes"],
        )
    except ValidationError as error:
        apply_validation_error(form, error)
        return None
    if form.cleaned_data["issue_now"]:
        try:
            credit = services.invoice_issue(actor=request.user, invoice=credit)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return credit
        messages.success(request, _t("Credit invoice %s is issued.") % credit)
    else:
        messages.success(request, _t("The credit invoice is saved as a draft."))
    return credit


# ----------------------------------------------------------------------- account page


def account_invoices_tab(request: HttpRequest, account: Account) -> str:
    """The account page's invoices tab: its latest invoices and what waits to be invoiced."""
    invoices = visible_records(
        Invoice.objects.filter(billing_account=account).select_related("billing_account"),
        request.user,
    ).order_by("-invoice_date", "-pk")[:20]
    return render_to_string(
        "billing/partials/account_invoices.html",
        {
            "account": account,
            "invoices": list(invoices),
            "pending_count": selectors.pending_charges(account).count(),
            "locale": _ui_locale(),
        },
        request=request,
    )
