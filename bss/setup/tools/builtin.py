"""The tools setup ships: the consent logs of spec 1.8."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bss.core.models import ConsentRecord
from bss.core.tools import Progress, ToolResult, register_tool

CHUNK = 500


class ConsentLogForm(forms.Form):
    date_from = forms.DateField(
        label=_("Accepted from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Accepted until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    account = forms.CharField(label=_("Account name contains"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def _consents(parameters: dict[str, Any], kinds: list[str]) -> QuerySet[ConsentRecord]:
    records = ConsentRecord.objects.filter(kind__in=kinds)
    if parameters.get("date_from"):
        records = records.filter(accepted_at__date__gte=parameters["date_from"])
    if parameters.get("date_to"):
        records = records.filter(accepted_at__date__lte=parameters["date_to"])
    if parameters.get("account"):
        records = records.filter(account_name__icontains=parameters["account"])
    return records.order_by("accepted_at", "pk")


def _collect(records: QuerySet[ConsentRecord], progress: Progress, row: Any) -> list[list[Any]]:
    progress.start(records.count())
    rows: list[list[Any]] = []
    pending = 0
    for record in records.iterator(chunk_size=CHUNK):
        rows.append(row(record))
        pending += 1
        if pending == CHUNK:
            progress.advance(pending)
            pending = 0
    progress.advance(pending)
    return rows


def split_name(full_name: str) -> tuple[str, str]:
    """First and last name from the stored full name: the last word is the last name."""
    words = full_name.split()
    if len(words) < 2:
        return full_name.strip(), ""
    return " ".join(words[:-1]), words[-1]


def terms_of_use_logs(parameters: dict[str, Any], progress: Progress) -> ToolResult:
    def row(record: ConsentRecord) -> list[Any]:
        first_name, last_name = split_name(record.contact_name)
        return [
            record.subject,
            record.reference,
            record.account_name,
            first_name,
            last_name,
            record.contact_email,
            record.source,
            record.ip_address or "",
            record.user_agent,
            record.accepted_at,
        ]

    rows = _collect(_consents(parameters, [ConsentRecord.Kind.TERMS_OF_USE]), progress, row)
    columns = [
        _t("Product name"),
        _t("Order code"),
        _t("Account name"),
        _t("User first name"),
        _t("User last name"),
        _t("User email"),
        _t("URL"),
        _t("IP address"),
        _t("Browser"),
        _t("Term accepted"),
    ]
    return columns, rows


def personal_data_consent_logs(parameters: dict[str, Any], progress: Progress) -> ToolResult:
    def row(record: ConsentRecord) -> list[Any]:
        return [
            record.account_name,
            record.contact_name,
            record.contact_email,
            record.get_kind_display(),
            record.subject,
            record.source,
            record.ip_address or "",
            record.user_agent,
            record.accepted_at,
        ]

    kinds = [ConsentRecord.Kind.PERSONAL_DATA, ConsentRecord.Kind.PERSONAL_DATA_WITHDRAWN]
    rows = _collect(_consents(parameters, kinds), progress, row)
    columns = [
        _t("Account name"),
        _t("Contact"),
        _t("Email"),
        _t("Consent"),
        _t("What was accepted"),
        _t("Source"),
        _t("IP address"),
        _t("Browser"),
        _t("When"),
    ]
    return columns, rows


def register() -> None:
    register_tool(
        code="terms_of_use_logs",
        title=_("Products Terms of Use - Get logs"),
        section=_("Log records"),
        permission=("setup", "audit"),
        form_class=ConsentLogForm,
        run=terms_of_use_logs,
        description=_(
            "Every acceptance of a product's terms of use at Storefront checkout: who, "
            "for which order, from where and when."
        ),
        order=10,
    )
    register_tool(
        code="personal_data_consent_logs",
        title=_("Personal data consent logs"),
        section=_("Log records"),
        permission=("setup", "audit"),
        form_class=ConsentLogForm,
        run=personal_data_consent_logs,
        description=_("Every personal-data opt-in and opt-out a customer gave."),
        order=20,
    )
