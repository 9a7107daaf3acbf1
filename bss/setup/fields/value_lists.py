"""The out-of-the-box choice fields whose values admins edit (systemic value lists).

Each entry names an entity's field and the values a new organization starts with. Apps
that own the entity read the values through ``selectors.value_choices`` for their forms;
an app adding a new value-list field declares it here with ``register_value_list``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ValueList:
    entity: str
    field: str
    label: Any
    starting_values: tuple[tuple[str, str], ...]
    starting_default: str = ""


VALUE_LISTS: dict[tuple[str, str], ValueList] = {}


def register_value_list(value_list: ValueList) -> None:
    VALUE_LISTS[(value_list.entity, value_list.field)] = value_list


def value_lists_of(entity: str) -> list[ValueList]:
    return [value_list for value_list in VALUE_LISTS.values() if value_list.entity == entity]


for _value_list in (
    ValueList(
        "account",
        "industry",
        _("Industry"),
        (
            ("information_technology", "Information technology"),
            ("telecommunications", "Telecommunications"),
            ("financial_services", "Financial services"),
            ("healthcare", "Healthcare"),
            ("manufacturing", "Manufacturing"),
            ("retail", "Retail and e-commerce"),
            ("education", "Education"),
            ("public_sector", "Public sector"),
            ("hospitality", "Hospitality and tourism"),
            ("professional_services", "Professional services"),
            ("energy", "Energy and utilities"),
            ("logistics", "Transport and logistics"),
            ("other", "Other"),
        ),
    ),
    ValueList(
        "account",
        "lead_source",
        _("Lead source"),
        (
            ("website", "Website"),
            ("referral", "Customer referral"),
            ("partner", "Partner or reseller"),
            ("trade_show", "Trade show or event"),
            ("email_campaign", "Email campaign"),
            ("cold_call", "Outbound call"),
            ("marketplace", "Cloud marketplace"),
            ("other", "Other"),
        ),
        starting_default="website",
    ),
    ValueList(
        "contact",
        "company_role",
        _("Company role"),
        (
            ("decision_maker", "Decision maker"),
            ("technical", "Technical contact"),
            ("billing", "Billing contact"),
            ("procurement", "Procurement"),
            ("executive_sponsor", "Executive sponsor"),
            ("end_user", "End user"),
        ),
        starting_default="technical",
    ),
    ValueList(
        "case",
        "category",
        _("Category"),
        (
            ("technical_issue", "Technical issue"),
            ("billing_question", "Billing question"),
            ("provisioning", "Provisioning request"),
            ("licence_change", "Licence or quantity change"),
            ("account_access", "Account access"),
            ("feature_request", "Feature request"),
            ("other", "Other"),
        ),
        starting_default="technical_issue",
    ),
):
    register_value_list(_value_list)
