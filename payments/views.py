"""Payment pages: lists, record and settle a payment, void, refund, the statement of account,
the account's payment settings and card, and Setup's payment methods and notification plans.

Payments belong to accounts: reads go through record visibility by the account's owner
and permission rule; a payment a user may not see answers 404.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.models import Account
from billing.models import Invoice
from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.money import format_money
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404, visible_records
from bss.core.xlsx import stream_xlsx
from payments import cards, dunning, forms, selectors, services
from payments.models import (
    AccountPaymentSettings,
    NotificationPlan,
    NotificationPlanStep,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PaymentTransaction,
    PaymentType,
)
from payments.statement_pdf import statement_pdf_bytes


def _ui_locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


def _money(field: str, currency_field: str = "currency") -> Callable[[Any], str]:
    def shown(record: Any) -> str:
        return format_money(getattr(record, field), getattr(record, currency_field), _ui_locale())

    return shown


def _run(form: Any, write: Callable[[], Any]) -> Any:
    try:
        return write()
    except ValidationError as error:
        apply_validation_error(form, error)
        return None


def _post_action(request: HttpRequest, write: Callable[[], Any], success: str) -> bool:
    try:
        write()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


# ---------------------------------------------------------------------------------- lists


class PaymentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=PaymentStatus.choices)
    payment_type = django_filters.ChoiceFilter(label=_("Type"), choices=PaymentType.choices)
    account = django_filters.CharFilter(label=_("Account"), method="filter_account")
    payment_date = django_filters.DateFromToRangeFilter(
        label=_("Payment date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Payment
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(account__name__icontains=value) | Q(account__number__iexact=value))


PAYMENT_COLUMNS = [
    Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
    Column("payment_date", _("Date"), sort="payment_date"),
    Column("account.name", _("Account"), sort="account__name"),
    Column(
        "payment_type", _("Type"), sort="payment_type", value=lambda p: p.get_payment_type_display()
    ),
    Column(
        "status", _("Status"), sort="status", badge=True, value=lambda p: p.get_status_display()
    ),
    Column("reference", _("Reference")),
    Column(
        "amount", _("Amount"), sort="amount", value=_money("amount"), css="text-end text-nowrap"
    ),
    Column(
        "unapplied_amount",
        _("Unapplied"),
        value=_money("unapplied_amount"),
        css="text-end text-nowrap",
    ),
]


class PaymentListView(RecordListView):
    model = Payment
    permission_module = "payments"
    title = _("Payments")
    filterset_class = PaymentFilter
    search_fields = ("number", "reference", "account__name", "account__number")
    search_placeholder = _("Number, reference or account")
    default_sort = "-payment_date"
    create_url_name = "payments:payment_create"
    create_permission = ("payments", "create")
    columns = PAYMENT_COLUMNS

    def base_queryset(self) -> QuerySet:
        return Payment.objects.select_related("account")


class FailedPaymentListView(PaymentListView):
    title = _("Failed payments")
    create_url_name = None
    columns = [
        Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
        Column("payment_date", _("Date"), sort="payment_date"),
        Column("account.name", _("Account"), sort="account__name"),
        Column("invoice", _("Invoice"), value=lambda p: str(p.invoice) if p.invoice_id else ""),
        Column(
            "card",
            _("Card"),
            value=lambda p: f"{p.card_brand} •••• {p.card_last4}" if p.card_last4 else "",
        ),
        Column("failure_message", _("Gateway message")),
        Column(
            "amount", _("Amount"), sort="amount", value=_money("amount"), css="text-end text-nowrap"
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return Payment.objects.filter(status=PaymentStatus.FAILED).select_related(
            "account", "invoice"
        )


class OverdueFilter(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(
        label=_("Age"),
        choices=[(key, label) for key, label, _low, _high in selectors.AGEING_BUCKETS],
        method="filter_bucket",
    )
    account = django_filters.CharFilter(label=_("Account"), method="filter_account")

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_bucket(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**selectors.bucket_due_dates(value, timezone.localdate()))

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(billing_account__name__icontains=value) | Q(billing_account__number__iexact=value)
        )


def _bucket_label(invoice: Invoice) -> str:
    days = selectors.days_overdue(invoice, timezone.localdate())
    key = selectors.ageing_bucket(days)
    return str(next(label for k, label, _l, _h in selectors.AGEING_BUCKETS if k == key))


class OverdueInvoiceListView(RecordListView):
    """Unpaid debit invoices with their age: current, 1-30, 31-60, 61-90, 90+ days."""

    model = Invoice
    permission_module = "invoices"
    title = _("Unpaid invoices by age")
    filterset_class = OverdueFilter
    search_fields = ("number", "billing_account__name", "billing_account__number")
    search_placeholder = _("Number or account")
    default_sort = "due_date"
    template_name = "payments/overdue_list.html"
    columns = [
        Column("number", _("Number"), sort="number", link=True, value=str, css="text-nowrap"),
        Column("billing_account.name", _("Account"), sort="billing_account__name"),
        Column("invoice_date", _("Invoice date"), sort="invoice_date"),
        Column("due_date", _("Due date"), sort="due_date"),
        Column(
            "days_overdue",
            _("Days overdue"),
            value=lambda invoice: selectors.days_overdue(invoice, timezone.localdate()),
            css="text-end",
        ),
        Column("bucket", _("Age"), badge=True, value=_bucket_label),
        Column(
            "balance_due",
            _("Balance due"),
            sort="balance_due",
            value=_money("balance_due"),
            css="text-end text-nowrap",
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return selectors.open_debit_invoices()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and not request.htmx.boosted:
            # The results partial lives in the shared list template.
            self.template_name = "core/list.html"
        return super().get(request, *args, **kwargs)

    def extra_context(self) -> dict[str, Any]:
        today = timezone.localdate()
        queryset, _filterset = self.filtered(self.visible_queryset())
        totals = selectors.ageing_totals(queryset, today)
        currencies = sorted({currency for currency, _bucket in totals})
        locale = _ui_locale()
        return {
            "buckets": [(key, label) for key, label, _l, _h in selectors.AGEING_BUCKETS],
            "ageing_rows": [
                (
                    currency,
                    [
                        format_money(totals.get((currency, key), 0), currency, locale)
                        for key, _label, _l, _h in selectors.AGEING_BUCKETS
                    ],
                )
                for currency in currencies
            ],
        }


# ------------------------------------------------------------------------------- payments


def _visible_payment(request: HttpRequest, pk: int, access: str = "view") -> Payment:
    return get_visible_or_404(
        Payment.objects.select_related("account", "created_by", "invoice"),
        request.user,
        access,
        pk=pk,
    )


def _visible_account(request: HttpRequest, pk: int, access: str = "view") -> Account:
    return get_visible_or_404(Account.objects.all(), request.user, access, pk=pk)


@requires("payments", "view")
def payment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _visible_payment(request, pk)
    user = request.user
    is_completed = payment.status == PaymentStatus.COMPLETED
    context = {
        "payment": payment,
        "allocations": list(payment.allocations.select_related("invoice").order_by("pk")),
        "refunds": list(payment.refunds.order_by("pk")),
        "transactions": list(payment.transactions.order_by("-created_at", "-pk")[:20]),
        "locale": _ui_locale(),
        "history": audit_trail(payment)[:30],
        "may_allocate": is_completed
        and payment.unapplied_amount > 0
        and user_has_permission(user, "payments", "edit"),
        "may_void": is_completed
        and payment.payment_type != PaymentType.CARD
        and payment.refunded_amount == 0
        and user_has_permission(user, "payments", "delete"),
        "may_refund": is_completed
        and payment.refunded_amount < payment.amount
        and user_has_permission(user, "payments", "refund"),
        "allocate_form": forms.AllocateForm(account=payment.account, currency=payment.currency)
        if is_completed and payment.unapplied_amount > 0
        else None,
        "void_form": forms.VoidForm(),
    }
    return render(request, "payments/payment_detail.html", context)


@requires("payments", "create")
def payment_create(request: HttpRequest) -> HttpResponse:
    """Record a manual payment for an account; ``?account=`` or a lookup picks the account."""
    account_pk = request.GET.get("account", "")
    if not account_pk.isdigit():
        lookup = forms.AccountLookupForm(request.GET or None, user=request.user)
        if lookup.is_bound and lookup.is_valid() and lookup.account is not None:
            return redirect(f"{reverse('payments:payment_create')}?account={lookup.account.pk}")
        return render(request, "payments/account_lookup.html", {"form": lookup})
    account = _visible_account(request, int(account_pk))
    initial: dict[str, Any] = {}
    invoice_pk = request.GET.get("invoice", "")
    if invoice_pk.isdigit():
        initial["invoices"] = [int(invoice_pk)]
        invoice = Invoice.objects.filter(pk=int(invoice_pk), billing_account=account).first()
        if invoice is not None:
            initial["amount"] = invoice.balance_due
    form = forms.PaymentForm(request.POST or None, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        allocations = [services.Allocation(invoice=invoice) for invoice in data["invoices"]]
        payment = _run(
            form,
            lambda: services.payment_record(
                actor=request.user,
                account=account,
                payment_type=data["payment_type"],
                amount=data["amount"],
                currency=data["currency"],
                payment_date=data["payment_date"],
                reference=data["reference"],
                notes=data["notes"],
                allocations=allocations or None,
            ),
        )
        if payment is not None:
            messages.success(request, _t("Payment %s is recorded.") % payment)
            return redirect(payment)
    return render(
        request,
        "payments/payment_form.html",
        {"form": form, "account": account, "title": _t("New payment")},
    )


@require_POST
@requires("payments", "edit")
def payment_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _visible_payment(request, pk, "edit")
    form = forms.AllocateForm(request.POST, account=payment.account, currency=payment.currency)
    if form.is_valid():
        allocations = [
            services.Allocation(invoice=invoice) for invoice in form.cleaned_data["invoices"]
        ]
        _post_action(
            request,
            lambda: services.payment_allocate(
                actor=request.user, payment=payment, allocations=allocations or None
            ),
            _t("The payment is applied."),
        )
    else:
        messages.error(request, _t("Choose invoices of this account that are still unpaid."))
    return redirect(payment)


@require_POST
@requires("payments", "delete")
def payment_void(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _visible_payment(request, pk, "delete")
    form = forms.VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Why: say why the payment is voided."))
        return redirect(payment)
    _post_action(
        request,
        lambda: services.payment_void(
            actor=request.user, payment=payment, reason=form.cleaned_data["reason"]
        ),
        _t("The payment is void; the invoices it settled are open again."),
    )
    return redirect(payment)


@requires("payments", "refund")
def refund_create(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _visible_payment(request, pk, "edit")
    is_card = payment.payment_type == PaymentType.CARD and bool(payment.gateway_reference)
    form = forms.RefundForm(
        request.POST or None,
        initial={
            "amount": payment.amount - payment.refunded_amount,
            "refund_date": timezone.localdate(),
            "via_gateway": is_card,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["via_gateway"]:
            refund = _run(
                form,
                lambda: cards.refund_through_gateway(
                    actor=request.user,
                    payment=payment,
                    amount=data["amount"],
                    reason=data["reason"],
                ),
            )
        else:
            refund = _run(
                form,
                lambda: services.refund_record(
                    actor=request.user,
                    payment=payment,
                    amount=data["amount"],
                    refund_date=data["refund_date"],
                    reason=data["reason"],
                    reference=data["reference"],
                ),
            )
        if refund is not None:
            messages.success(
                request,
                _t("Refund %(number)s: %(status)s.")
                % {"number": refund, "status": refund.get_status_display()},
            )
            return redirect(payment)
    return render(
        request,
        "payments/form.html",
        {
            "form": form,
            "title": _t("Refund payment %s") % payment,
            "cancel_url": payment.get_absolute_url(),
        },
    )


# ------------------------------------------------------------------------------ statement


def _statement(
    request: HttpRequest, account: Account
) -> tuple[forms.StatementForm, selectors.Statement]:
    form = forms.StatementForm(request.GET or None)
    start = end = None
    currency = account.currency
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        currency = (form.cleaned_data["currency"] or account.currency).upper()
    return form, selectors.statement_of(account, currency=currency, start=start, end=end)


@requires("payments", "view")
def account_statement(request: HttpRequest, pk: int) -> HttpResponse:
    """The statement of account as a page, or as PDF / xlsx with ``?format=``."""
    account = _visible_account(request, pk)
    form, statement = _statement(request, account)
    wanted = request.GET.get("format", "")
    if wanted == "pdf":
        return FileResponse(
            io.BytesIO(statement_pdf_bytes(statement)),
            content_type="application/pdf",
            as_attachment=True,
            filename=f"statement-{account.number}-{timezone.localdate():%Y%m%d}.pdf",
        )
    if wanted == "xlsx":
        return _statement_xlsx(statement)
    return render(
        request,
        "payments/statement.html",
        {
            "account": account,
            "form": form,
            "statement": statement,
            "locale": _ui_locale(),
            "querystring": request.GET.urlencode(),
        },
    )


def _statement_xlsx(statement: selectors.Statement) -> Any:
    headers = [
        _t("Date"),
        _t("Type"),
        _t("Number"),
        _t("Description"),
        _t("Debit"),
        _t("Credit"),
        _t("Balance"),
    ]

    def rows() -> Any:
        yield [statement.start, _t("Opening balance"), "", "", None, None, statement.opening]
        for line in statement.lines:
            yield [
                line.day,
                str(line.label),
                line.number,
                line.description,
                line.debit or None,
                line.credit or None,
                line.balance,
            ]

    return stream_xlsx(
        filename=f"statement-{statement.account.number}-{timezone.localdate():%Y%m%d}.xlsx",
        sheet_title=_t("Statement")[:31],
        headers=headers,
        rows=rows(),
    )


# ------------------------------------------------------------------------- account page


def account_payments_tab(request: HttpRequest, account: Account) -> str:
    payments = visible_records(
        Payment.objects.filter(account=account).select_related("account"), request.user
    ).order_by("-payment_date", "-pk")[:20]
    return render_to_string(
        "payments/partials/account_payments.html",
        {
            "account": account,
            "payments": list(payments),
            "unapplied": selectors.unapplied_payments(account),
            "locale": _ui_locale(),
        },
        request=request,
    )


def account_statement_tab(request: HttpRequest, account: Account) -> str:
    statement = selectors.statement_of(account)
    return render_to_string(
        "payments/partials/statement_table.html",
        {"account": account, "statement": statement, "locale": _ui_locale(), "compact": True},
        request=request,
    )


def account_payment_panel(request: HttpRequest, account: Account) -> str:
    row = (
        AccountPaymentSettings.objects.select_related("payment_method")
        .filter(account=account)
        .first()
    )
    return render_to_string(
        "payments/partials/account_panel.html",
        {
            "account": account,
            "settings_row": row,
            "may_edit": user_has_permission(request.user, "payments", "edit"),
        },
        request=request,
    )


@requires("payments", "edit")
def payment_settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk, "edit")
    row = services.payment_settings_of(account)
    form = forms.PaymentSettingsForm(
        request.POST or None,
        initial={"payment_method": row.payment_method, "auto_charge": row.auto_charge},
    )
    card_form = forms.CardForm(prefix="card")
    if request.method == "POST" and form.is_valid():
        saved = _run(
            form,
            lambda: services.payment_settings_update(
                actor=request.user,
                account=account,
                payment_method=form.cleaned_data["payment_method"],
                auto_charge=form.cleaned_data["auto_charge"],
            ),
        )
        if saved is not None:
            messages.success(request, _t("Payment settings saved."))
            return redirect(account)
    return render(
        request,
        "payments/payment_settings.html",
        {"account": account, "form": form, "card_form": card_form, "settings_row": row},
    )


@require_POST
@requires("payments", "edit")
def card_attach(request: HttpRequest, pk: int) -> HttpResponse:
    account = _visible_account(request, pk, "edit")
    form = forms.CardForm(request.POST, prefix="card")
    if form.is_valid():
        _post_action(
            request,
            lambda: cards.card_attach(
                actor=request.user, account=account, token=form.cleaned_data["token"]
            ),
            _t("The card is stored."),
        )
    else:
        messages.error(request, _t("Card token: enter the token the gateway gave."))
    return redirect(reverse("payments:payment_settings", kwargs={"pk": account.pk}))


class TransactionListView(RecordListView):
    model = PaymentTransaction
    permission_module = "payments"
    title = _("Payment transactions log")
    search_fields = ("gateway_reference", "idempotency_key", "account__name", "message")
    default_sort = "-created_at"
    columns = [
        Column("created_at", _("At"), sort="created_at"),
        Column("account.name", _("Account"), sort="account__name"),
        Column("kind", _("Kind"), value=lambda t: t.get_kind_display()),
        Column("outcome", _("Outcome"), badge=True, value=lambda t: t.get_outcome_display()),
        Column("invoice", _("Invoice"), value=lambda t: str(t.invoice) if t.invoice_id else ""),
        Column(
            "amount",
            _("Amount"),
            value=lambda t: (
                format_money(t.amount, t.currency, _ui_locale()) if t.amount is not None else ""
            ),
            css="text-end",
        ),
        Column("gateway_reference", _("Gateway reference")),
        Column("message", _("Message")),
    ]

    def base_queryset(self) -> QuerySet:
        return PaymentTransaction.objects.select_related("account", "invoice")


# ------------------------------------------------------------------------------ setup


class PaymentMethodListView(RecordListView):
    model = PaymentMethod
    permission_module = "setup"
    title = _("Payment methods")
    search_fields = ("description",)
    default_sort = "number"
    create_url_name = "payments:method_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("number", _("No."), sort="number", link=True),
        Column("description", _("Description"), sort="description", link=True),
        Column("payment_days", _("Payment days"), sort="payment_days"),
        Column("collection", _("Collection"), value=lambda m: m.get_collection_display()),
        Column("charges_before_activation", _("Charges before activating")),
        Column(
            "notification_plan",
            _("Notification plan"),
            value=lambda m: str(m.notification_plan or ""),
        ),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda m: _t("Active") if m.is_active else _t("Inactive"),
        ),
    ]

    def visible_queryset(self) -> QuerySet:
        # Organization settings, not owned records: setup.view opens them all.
        return PaymentMethod.objects.select_related("notification_plan")


def _method_fields(form: forms.PaymentMethodForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.Meta.fields}


@requires("setup", "manage")
def method_create(request: HttpRequest) -> HttpResponse:
    form = forms.PaymentMethodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _run(
            form, lambda: services.payment_method_save(actor=request.user, **_method_fields(form))
        )
        if saved is not None:
            messages.success(request, _t("Payment method %s saved.") % saved)
            return redirect("payments:method_list")
    return render(
        request,
        "payments/form.html",
        {
            "form": form,
            "title": _t("New payment method"),
            "cancel_url": reverse("payments:method_list"),
        },
    )


@requires("setup", "manage")
def method_edit(request: HttpRequest, pk: int) -> HttpResponse:
    method = get_object_or_404(PaymentMethod, pk=pk)
    form = forms.PaymentMethodForm(request.POST or None, instance=method)
    if request.method == "POST" and form.is_valid():
        fields = _method_fields(form)
        method.refresh_from_db()
        saved = _run(
            form, lambda: services.payment_method_save(actor=request.user, method=method, **fields)
        )
        if saved is not None:
            messages.success(request, _t("Payment method %s saved.") % saved)
            return redirect("payments:method_list")
    return render(
        request,
        "payments/form.html",
        {
            "form": form,
            "title": _t("Edit %s") % method,
            "cancel_url": reverse("payments:method_list"),
        },
    )


class NotificationPlanListView(RecordListView):
    model = NotificationPlan
    permission_module = "setup"
    title = _("Notification plans")
    search_fields = ("name",)
    default_sort = "name"
    create_url_name = "payments:plan_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column(
            "steps",
            _("Steps"),
            value=lambda p: ", ".join(f"+{s.offset_days}" for s in p.steps.all()),
        ),
        Column("is_default", _("Default")),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda p: _t("Active") if p.is_active else _t("Inactive"),
        ),
    ]

    def visible_queryset(self) -> QuerySet:
        return NotificationPlan.objects.prefetch_related("steps")


@requires("setup", "manage")
def plan_create(request: HttpRequest) -> HttpResponse:
    form = forms.NotificationPlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan = _run(form, lambda: dunning.plan_save(actor=request.user, **form.cleaned_data))
        if plan is not None:
            return redirect(plan)
    return render(
        request,
        "payments/form.html",
        {
            "form": form,
            "title": _t("New notification plan"),
            "cancel_url": reverse("payments:plan_list"),
        },
    )


@requires("setup", "view")
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(NotificationPlan, pk=pk)
    may_manage = user_has_permission(request.user, "setup", "manage")
    plan_form = forms.NotificationPlanForm(instance=plan)
    step_form = forms.PlanStepForm()
    if request.method == "POST":
        if not may_manage:
            return HttpResponse(status=403)
        if "offset_days" in request.POST:
            step_form = forms.PlanStepForm(request.POST)
            if step_form.is_valid() and _run(
                step_form,
                lambda: dunning.plan_step_save(
                    actor=request.user, plan=plan, **step_form.cleaned_data
                ),
            ):
                messages.success(request, _t("Step added."))
                return redirect(plan)
        else:
            plan_form = forms.NotificationPlanForm(request.POST, instance=plan)
            if plan_form.is_valid():
                data = dict(plan_form.cleaned_data)
                plan.refresh_from_db()
                if _run(
                    plan_form, lambda: dunning.plan_save(actor=request.user, plan=plan, **data)
                ):
                    messages.success(request, _t("Plan saved."))
                    return redirect(plan)
    return render(
        request,
        "payments/plan_detail.html",
        {
            "plan": plan,
            "steps": list(plan.steps.order_by("offset_days")),
            "plan_form": plan_form,
            "step_form": step_form,
            "may_manage": may_manage,
        },
    )


@require_POST
@requires("setup", "manage")
def plan_step_delete(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(NotificationPlanStep.objects.select_related("plan"), pk=pk)
    _post_action(
        request,
        lambda: dunning.plan_step_delete(actor=request.user, step=step),
        _t("Step removed."),
    )
    return redirect(step.plan)


@requires("payments", "create")
def upcoming_payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Spec §4.7: a payment for the subscription's next renewal, applied when it is invoiced."""
    from payments import upcoming
    from subscriptions.models import Subscription

    subscription = get_visible_or_404(
        Subscription.objects.select_related("account", "billing_account"),
        request.user,
        "view",
        pk=pk,
    )
    form = forms.UpcomingPaymentForm(
        request.POST or None, initial={"payment_date": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payment = _run(
            form,
            lambda: upcoming.upcoming_payment_record(
                actor=request.user,
                subscription=subscription,
                payment_type=data["payment_type"],
                amount=data["amount"],
                payment_date=data["payment_date"],
                reference=data["reference"],
            ),
        )
        if payment is not None:
            messages.success(request, _t("Upcoming payment %s is recorded.") % payment)
            return redirect(payment)
    return render(
        request,
        "payments/form.html",
        {
            "form": form,
            "title": _t("Upcoming payment for the renewal of %(number)s on %(day)s")
            % {"number": subscription.number, "day": subscription.term_end.isoformat()},
            "cancel_url": subscription.account.get_absolute_url(),
        },
    )
