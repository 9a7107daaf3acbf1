"""Setup > Currencies: the list, a currency with its exchange-rate history, the home currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.money import format_money
from bss.core.permissions import requires
from bss.setup.currencies import services
from bss.setup.currencies.forms import CurrencyCreateForm, CurrencyEditForm, ExchangeRateForm
from bss.setup.currencies.selectors import currencies_with_latest_rate, plain_rate
from bss.setup.models import Currency, ExchangeRate
from bss.setup.organization.selectors import organization

SAMPLE_AMOUNT = Decimal("1234.5")


def sample_amount(currency: Currency) -> str:
    try:
        return format_money(SAMPLE_AMOUNT, currency.code, currency.culture)
    except ValueError:
        return ""


class CurrencyListView(RecordListView):
    model = Currency
    permission_module = "setup"
    title = _("Currencies")
    search_fields = ("code", "name")
    search_placeholder = _("Code or name")
    default_sort = "code"
    create_url_name = "setup:currency_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("code", _("Code"), sort="code", link=True),
        Column("name", _("Name"), sort="name"),
        Column("minor_units", _("Minor units")),
        Column("culture", _("Display culture"), sort="culture"),
        Column("sample", _("Sample"), value=sample_amount),
        Column(
            "latest_rate",
            _("Rate today"),
            value=lambda currency: (
                Decimal(1) if currency.is_home else plain_rate(currency.latest_rate)
            ),
        ),
        Column(
            "is_home",
            _("Home currency"),
            value=lambda currency: _t("Home currency") if currency.is_home else "",
        ),
        Column(
            "is_active",
            _("Status"),
            badge=True,
            value=lambda currency: _t("Active") if currency.is_active else _t("Inactive"),
        ),
    ]

    def visible_queryset(self) -> QuerySet:
        # Currencies are organization settings, not owned records: setup.view opens them all.
        home_id = organization().home_currency_id
        return currencies_with_latest_rate(timezone.localdate()).annotate(
            is_home=Case(
                When(pk=home_id, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )

    def extra_context(self) -> dict[str, Any]:
        return {"setup_page": True}


@requires("setup", "manage")
def currency_create(request: HttpRequest) -> HttpResponse:
    form = CurrencyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            currency = services.currency_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Currency %(code)s added.") % {"code": currency.code})
            return redirect(currency.get_absolute_url())
    return render(request, "setup/currencies/form.html", {"form": form, "setup_page": True})


def _currency(code: str) -> Currency:
    return get_object_or_404(Currency, code=code.upper())


def _detail_page(
    request: HttpRequest,
    currency: Currency,
    *,
    edit_form: CurrencyEditForm | None = None,
    rate_form: ExchangeRateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    home = organization().home_currency
    is_home = home is not None and home.pk == currency.pk
    context = {
        "subject": currency,
        "is_home": is_home,
        "home_currency": home,
        "sample": sample_amount(currency),
        "rates": currency.rates.order_by("-valid_from"),
        "edit_form": edit_form
        or CurrencyEditForm(
            initial={
                "name": currency.name,
                "culture": currency.culture,
                "is_active": currency.is_active,
            }
        ),
        "rate_form": rate_form or ExchangeRateForm(initial={"valid_from": timezone.localdate()}),
        "history": audit_trail(currency)[:20],
        "setup_page": True,
    }
    return render(request, "setup/currencies/detail.html", context, status=status)


@requires("setup", "view")
def currency_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _detail_page(request, _currency(code))


@require_POST
@requires("setup", "manage")
def currency_edit(request: HttpRequest, code: str) -> HttpResponse:
    currency = _currency(code)
    form = CurrencyEditForm(request.POST)
    if form.is_valid():
        try:
            services.currency_update(actor=request.user, currency=currency, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Currency saved."))
            return redirect(currency.get_absolute_url())
    return _detail_page(request, currency, edit_form=form, status=400)


@require_POST
@requires("setup", "manage")
def exchange_rate_add(request: HttpRequest, code: str) -> HttpResponse:
    currency = _currency(code)
    form = ExchangeRateForm(request.POST)
    if form.is_valid():
        try:
            services.exchange_rate_set(actor=request.user, currency=currency, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Exchange rate saved."))
            return redirect(currency.get_absolute_url())
    return _detail_page(request, currency, rate_form=form, status=400)


@require_POST
@requires("setup", "manage")
def exchange_rate_delete(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    currency = _currency(code)
    exchange_rate = get_object_or_404(ExchangeRate, pk=pk, currency=currency)
    services.exchange_rate_delete(actor=request.user, exchange_rate=exchange_rate)
    messages.success(request, _t("Exchange rate deleted."))
    return redirect(currency.get_absolute_url())


@require_POST
@requires("setup", "manage")
def currency_make_home(request: HttpRequest, code: str) -> HttpResponse:
    currency = _currency(code)
    try:
        services.currency_set_home(actor=request.user, currency=currency)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _t("%(code)s is now the home currency.") % {"code": currency.code}
        )
    return redirect(currency.get_absolute_url())
