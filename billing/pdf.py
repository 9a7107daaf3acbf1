"""Invoice PDFs: an HTML template rendered by WeasyPrint in the invoice's language.

Amounts are formatted in the culture of the invoice currency (``Currency.culture``,
e.g. el_GR: ``1.234,50 €``) and dates in the invoice language, both with Babel. The
PDF is rendered once after issue by a Celery task and kept in MEDIA_ROOT; the download
view and the API serve the stored file (rendering it first if the task has not yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from billing import selectors
from billing.models import BillingSettings, Invoice, InvoiceKind, InvoiceStatus
from bss.core.money import (
    UNIT_PRICE_PLACES,
    format_decimal_for_locale,
    format_money,
    minor_units,
)
from bss.setup.organization.selectors import organization

TEMPLATE = "billing/invoice_pdf.html"
EN_DASH = "\u2013"


@dataclass(frozen=True)
class _Formatter:
    currency: str
    money_locale: str
    date_locale: str
    date_pattern: str

    def money(self, amount: Decimal | None, currency: str | None = None) -> str:
        if amount is None:
            return ""
        return format_money(amount, currency or self.currency, self.money_locale)

    def number(self, value: Decimal) -> str:
        return format_decimal_for_locale(plain(value), self.money_locale)

    def unit_price(self, value: Decimal) -> str:
        return format_unit_price(value, self.currency, self.money_locale)

    def day(self, value: date | None) -> str:
        return (
            format_date(value, format=self.date_pattern, locale=self.date_locale) if value else ""
        )

    def period(self, start: date | None, last_day: date | None) -> str:
        if start is None or last_day is None:
            return ""
        if start == last_day:
            return self.day(start)
        return f"{self.day(start)} {EN_DASH} {self.day(last_day)}"

    def country(self, code: str) -> str:
        if not code:
            return ""
        try:
            return Locale.parse(self.date_locale).territories.get(code.upper(), code)
        except (ValueError, UnknownLocaleError):
            return code


def format_unit_price(amount: Decimal, currency: str, locale: str) -> str:
    """A unit price with its meaningful decimals (up to 4), at least the currency's."""
    exponent = amount.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    places = min(max(minor_units(currency), decimals), UNIT_PRICE_PLACES)
    return format_decimal_for_locale(amount, locale, places=places)


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and never in exponent form (20.0000 → 20, 2.50 → 2.5)."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def _date_locale(language: str, money_locale: str) -> str:
    """The invoice language, in the region of the currency culture when they agree."""
    language = (language or settings.LANGUAGE_CODE).split("-")[0]
    if money_locale.split("_")[0] == language:
        return money_locale
    return language


def _logo_uri() -> str:
    logo = organization().logo
    if not logo or not isinstance(logo.storage, FileSystemStorage):
        return ""
    path = Path(logo.path)
    return path.as_uri() if path.exists() else ""


def _payment_instructions(invoice: Invoice, fmt: _Formatter) -> str:
    if invoice.kind != InvoiceKind.DEBIT:
        return ""
    text = (
        BillingSettings.objects.filter(pk=BillingSettings.SINGLETON_PK)
        .values_list("payment_instructions", flat=True)
        .first()
    ) or ""
    values = {
        "number": invoice.number or "",
        "due_date": fmt.day(invoice.due_date),
        "amount": fmt.money(invoice.gross_total),
    }
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        # A placeholder we do not know: print the text as written rather than nothing.
        return text


def invoice_context(invoice: Invoice) -> dict[str, Any]:
    money_locale = selectors.currency_culture(invoice.currency)
    fmt = _Formatter(
        currency=invoice.currency,
        money_locale=money_locale,
        date_locale=_date_locale(invoice.language, money_locale),
        # The organization's date format, spelled in the invoice language.
        date_pattern=organization().date_format or "medium",
    )
    lines = []
    for line in invoice.lines.select_related("product").order_by("position", "pk"):
        rates = ", ".join(
            f"{format_decimal_for_locale(plain(Decimal(tax['rate'])), money_locale)} %"
            for tax in line.applied_taxes
        )
        lines.append(
            {
                "position": line.position,
                "description": line.description,
                "product_code": line.product.code if line.product else "",
                "period": fmt.period(line.period_start, line.last_day),
                "quantity": fmt.number(line.quantity),
                "unit_price": fmt.unit_price(line.unit_price),
                "discount": fmt.money(line.discount) if line.discount else "",
                "net": fmt.money(line.net),
                "tax_rates": rates,
            }
        )
    tax_lines = [
        {
            "label": f"{tax.name} {format_decimal_for_locale(plain(tax.rate), money_locale)} %",
            "base": fmt.money(tax.taxable_amount),
            "amount": fmt.money(tax.amount),
            "transaction_amount": fmt.money(tax.transaction_amount, invoice.transaction_currency)
            if tax.transaction_amount is not None
            else "",
        }
        for tax in invoice.tax_lines.order_by("code", "rate")
    ]
    seller = invoice.seller_details or {}
    settings_row = BillingSettings.objects.filter(pk=BillingSettings.SINGLETON_PK).first()
    return {
        "invoice": invoice,
        "title": _("Credit note") if invoice.is_credit else _("Invoice"),
        "is_draft": invoice.status == InvoiceStatus.DRAFT,
        "seller": seller,
        "seller_lines": [
            line
            for line in (
                seller.get("address_line1", ""),
                seller.get("address_line2", ""),
                " ".join(p for p in (seller.get("postal_code", ""), seller.get("city", "")) if p),
                fmt.country(seller.get("country", "")),
            )
            if line
        ],
        "logo_uri": _logo_uri(),
        "customer_lines": [
            *[line for line in invoice.customer_address.splitlines() if line],
            fmt.country(invoice.customer_country),
        ],
        "invoice_date": fmt.day(invoice.invoice_date),
        "due_date": fmt.day(invoice.due_date),
        "lines": lines,
        "tax_lines": tax_lines,
        "net_total": fmt.money(invoice.net_total),
        "tax_total": fmt.money(invoice.tax_total),
        "gross_total": fmt.money(invoice.gross_total),
        "transaction": {
            "currency": invoice.transaction_currency,
            "rate": format_decimal_for_locale(plain(invoice.exchange_rate), money_locale)
            if invoice.exchange_rate is not None
            else "",
            "net_total": fmt.money(invoice.transaction_net_total, invoice.transaction_currency),
            "tax_total": fmt.money(invoice.transaction_tax_total, invoice.transaction_currency),
            "gross_total": fmt.money(invoice.transaction_gross_total, invoice.transaction_currency),
        }
        if invoice.exchange_rate is not None
        else None,
        "linked_number": str(invoice.linked_invoice) if invoice.linked_invoice_id else "",
        "payment_instructions": _payment_instructions(invoice, fmt),
        "footer": settings_row.footer if settings_row else "",
    }


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as PDF bytes, rendered now in its own language."""
    from weasyprint import HTML

    with translation.override(invoice.language or settings.LANGUAGE_CODE):
        html = render_to_string(TEMPLATE, invoice_context(invoice))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def invoice_pdf_bytes(invoice: Invoice) -> bytes | None:
    """The stored PDF of an issued invoice, rendered and stored first if it is missing."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return None
    if invoice.pdf:
        try:
            with invoice.pdf.open("rb") as stored:
                return stored.read()
        except FileNotFoundError:
            pass
    from billing.services import invoice_pdf_store

    content = render_invoice_pdf(invoice)
    invoice_pdf_store(invoice=invoice, content=content)
    return content
