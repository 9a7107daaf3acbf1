"""The statement of account as PDF (WeasyPrint), in the account's language.

Amounts are formatted in the culture of the statement currency, as on invoices.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.selectors import currency_culture
from bss.core.money import format_money
from bss.setup.organization.selectors import organization
from payments.selectors import Statement

TEMPLATE = "payments/statement_pdf.html"


def statement_pdf_bytes(statement: Statement) -> bytes:
    from weasyprint import HTML

    locale = currency_culture(statement.currency)

    def money(amount: object) -> str:
        return format_money(amount, statement.currency, locale) if amount else ""

    lines = [
        {
            "day": line.day.isoformat(),
            "label": line.label,
            "number": line.number,
            "description": line.description,
            "debit": money(line.debit),
            "credit": money(line.credit),
            "balance": format_money(line.balance, statement.currency, locale),
        }
        for line in statement.lines
    ]
    context = {
        "statement": statement,
        "account": statement.account,
        "seller": organization(),
        "lines": lines,
        "opening": format_money(statement.opening, statement.currency, locale),
        "closing": format_money(statement.closing, statement.currency, locale),
        "total_debit": format_money(statement.total_debit, statement.currency, locale),
        "total_credit": format_money(statement.total_credit, statement.currency, locale),
        "printed_on": timezone.localdate().isoformat(),
    }
    with translation.override(statement.account.language or settings.LANGUAGE_CODE):
        html = render_to_string(TEMPLATE, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
