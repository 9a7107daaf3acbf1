"""Offer documents: one HTML template for the PDF, the public page and the template preview.

Rendered in the account's language, with amounts in the culture of the offer currency
(``Currency.culture``) and dates in that language, both with Babel, as invoices are.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.template.loader import render_to_string
from django.utils import translation

from billing.pdf import format_unit_price, plain
from billing.selectors import currency_culture
from bss.core.money import format_decimal_for_locale, format_money
from bss.setup.organization.selectors import organization
from offers.models import Offer, OfferTemplate
from orders.totals import compute_totals

TEMPLATE = "offers/offer_document.html"


def offer_language(offer: Offer) -> str:
    return offer.account.language or organization().default_language or settings.LANGUAGE_CODE


def _date_locale(language: str, money_locale: str) -> str:
    language = language.split("-")[0]
    return money_locale if money_locale.split("_")[0] == language else language


def _logo_uri() -> str:
    logo = organization().logo
    if not logo or not isinstance(logo.storage, FileSystemStorage):
        return ""
    path = Path(logo.path)
    return path.as_uri() if path.exists() else ""


def _country_name(code: str, locale: str) -> str:
    try:
        return Locale.parse(locale).territories.get(code.upper(), code)
    except (ValueError, UnknownLocaleError):
        return code


def offer_document_context(offer: Offer, template: OfferTemplate) -> dict[str, Any]:
    money_locale = currency_culture(offer.currency)
    date_locale = _date_locale(offer_language(offer), money_locale)
    date_pattern = organization().date_format or "medium"

    def money(amount: Decimal) -> str:
        return format_money(amount, offer.currency, money_locale)

    def day(value: Any) -> str:
        return format_date(value, format=date_pattern, locale=date_locale) if value else ""

    items = list(offer.items.select_related("product", "plan", "promotion").order_by("position"))
    totals = compute_totals(items, currency=offer.currency, billing_account=offer.billing_account)
    lines = [
        {
            "position": item.position,
            "name": item.product.name,
            "detail": " · ".join(
                part
                for part in (
                    item.plan.label,
                    item.friendly_name,
                    item.promotion.name if item.promotion else "",
                )
                if part
            ),
            "is_addon": item.parent_item_id is not None,
            "quantity": format_decimal_for_locale(plain(Decimal(item.quantity)), money_locale),
            "unit_price": format_unit_price(item.unit_price, offer.currency, money_locale),
            "discount": money(amounts.discount) if amounts.discount else "",
            "discount_percent": format_decimal_for_locale(
                plain(item.discount_percent), money_locale
            )
            if item.discount_percent
            else "",
            "net": money(amounts.net),
        }
        for item, amounts in zip(items, totals.lines, strict=True)
    ]
    seller = organization()
    address = offer.billing_account.addresses.filter(kind="billing").first()
    return {
        "offer": offer,
        "template": template,
        "seller": seller,
        "logo_uri": _logo_uri() if template.show_logo else "",
        "customer_address": [
            line
            for line in (
                [
                    address.company_name or offer.billing_account.name,
                    *address.street_address.splitlines(),
                    " ".join(p for p in (address.postal_code, address.city) if p),
                    _country_name(address.country_code, date_locale),
                ]
                if address is not None
                else [offer.billing_account.name]
            )
            if line
        ],
        "offer_date": day(offer.offer_date),
        "valid_until": day(offer.valid_until),
        "lines": lines,
        "totals": {
            "list_total": money(totals.list_total),
            "discount_total": money(totals.discount_total) if totals.discount_total else "",
            "net_total": money(totals.net_total),
            "tax_lines": [
                {
                    "label": f"{tax.name} {format_decimal_for_locale(plain(tax.rate), money_locale)} %",
                    "amount": money(tax.amount),
                }
                for tax in totals.tax_lines
            ],
            "gross_total": money(totals.gross_total),
            "monthly_run_rate": money(totals.monthly_run_rate),
            "tax_note": totals.tax_note,
        },
        "terms": offer.terms or template.terms,
        "responded_at": day(offer.responded_at.date()) if offer.responded_at else "",
    }


def render_offer_html(
    offer: Offer, template: OfferTemplate | None = None, *, for_pdf: bool = True
) -> str:
    from offers.services import offer_template

    template = template or offer_template()
    with translation.override(offer_language(offer)):
        context = offer_document_context(offer, template)
        context["for_pdf"] = for_pdf
        return render_to_string(TEMPLATE, context)


def render_offer_pdf(offer: Offer, template: OfferTemplate | None = None) -> bytes:
    from weasyprint import HTML

    html = render_offer_html(offer, template)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
