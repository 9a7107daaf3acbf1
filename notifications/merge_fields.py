"""Merge fields: what a template of each entity may print, and their values for one record.

A provider per entity declares its fields and turns a record into a flat dict of
``code -> plain value`` (``"invoice.number" -> "INV-2026-000001"``). The entity's own
fields are read from its model's concrete fields (secrets and internal columns left
out), its custom fields from setup, and every entity gets the related account and
contact, the acting user, the organization, links and the event's own fields.

Providers for modules that are not built yet (orders, offers, subscriptions, payments,
cases) find their model with ``apps.get_model`` when asked, so their templates gain
the record's fields the day the model lands; a module may also register a provider of
its own with ``register_provider``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Model
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bss.core.custom_fields import custom_fields_for
from bss.core.models import Event

# Columns that never become merge fields, whatever the entity.
HIDDEN_NAME_PARTS = ("password", "secret", "token", "encrypted", "sha256", "hash", "api_key")
HIDDEN_FIELDS = {"custom_data", "permission_rule", "seller_details", "id"}


@dataclass(frozen=True)
class MergeField:
    code: str
    label: str
    group: str


# Payload keys of events that templates may print, e.g. the effective date of a
# cancellation request or the activation link of a Storefront registration.
EVENT_FIELDS = [
    ("event.name", _("Event name")),
    ("event.occurred_at", _("Occurred at")),
    ("event.effective_date", _("Effective date (end of billing period)")),
    ("event.days_left", _("Days left")),
    ("event.reason", _("Reason")),
    ("event.comment", _("Comment")),
    ("event.failure_reason", _("Failure reason")),
    ("event.activation_url", _("Storefront activation link")),
    ("event.reset_url", _("Storefront password reset link")),
    ("event.request_type", _("Request type")),
    ("event.message", _("Message of the sender")),
    ("event.link", _("Link sent with the event (e.g. the offer's public link)")),
]
SUBSCRIPTION_EXTRA_FIELDS = [
    ("subscription.external_pricing_status", _("External pricing status")),
    ("subscription.external_pricing_failure_reason", _("External pricing failure reason")),
    ("subscription.external_pricing_last_failure", _("External pricing last failure")),
    ("future_request.created", _("Future request: created")),
    ("future_request.creator", _("Future request: creator")),
    ("future_request.type", _("Future request: type")),
    ("future_request.item", _("Future request: item")),
    ("future_request.request_id", _("Future request: request id")),
    ("future_request.current_value", _("Future request: current value")),
    ("future_request.renewal_value", _("Future request: renewal value")),
    ("future_request.status", _("Future request: status")),
    ("future_request.submitted_via_storefront", _("Future request: from Storefront")),
]


def _is_hidden(model_field: models.Field) -> bool:
    name = model_field.name
    return name in HIDDEN_FIELDS or any(part in name for part in HIDDEN_NAME_PARTS)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool, Decimal, datetime.date)):
        return value
    return str(value)


def _own_fields(model: type[Model], prefix: str) -> list[models.Field]:
    return [
        model_field
        for model_field in model._meta.concrete_fields
        if not _is_hidden(model_field)
        and not isinstance(model_field, (models.JSONField, models.FileField, models.BinaryField))
        and not model_field.name.endswith("_id")
    ]


def model_merge_fields(model: type[Model], prefix: str, group: str) -> list[MergeField]:
    """One field per plain column; a relation prints as its name; money also formatted."""
    result = []
    has_currency = any(f.name == "currency" for f in model._meta.concrete_fields)
    for model_field in _own_fields(model, prefix):
        label = str(model_field.verbose_name).capitalize()
        result.append(MergeField(f"{prefix}.{model_field.name}", label, group))
        if has_currency and isinstance(model_field, models.DecimalField):
            result.append(
                MergeField(
                    f"{prefix}.{model_field.name}_formatted",
                    f"{label} ({_t('formatted')})",
                    group,
                )
            )
    return result


def model_merge_values(record: Model, prefix: str) -> dict[str, Any]:
    from bss.core.money import format_money

    values: dict[str, Any] = {}
    currency = getattr(record, "currency", "") or ""
    for model_field in _own_fields(type(record), prefix):
        code = f"{prefix}.{model_field.name}"
        if model_field.is_relation:
            related = getattr(record, model_field.name, None)
            values[code] = str(related) if related is not None else ""
            continue
        value = getattr(record, model_field.attname)
        if model_field.choices and value not in (None, ""):
            value = getattr(record, f"get_{model_field.name}_display")()
        values[code] = _plain(value)
        if currency and isinstance(model_field, models.DecimalField):
            values[f"{code}_formatted"] = (
                format_money(value, currency, _money_locale(currency)) if value is not None else ""
            )
    return values


def _money_locale(currency: str) -> str:
    from bss.setup.models import Currency

    culture = Currency.objects.filter(code=currency).values_list("culture", flat=True).first()
    return culture or "en_US"


def custom_merge_fields(entity: str, prefix: str, group: str) -> list[MergeField]:
    return [
        MergeField(f"{prefix}.custom.{custom.code}", custom.label, group)
        for custom in custom_fields_for(entity)
    ]


def custom_merge_values(entity: str, record: Model, prefix: str) -> dict[str, Any]:
    stored = getattr(record, "custom_data", None) or {}
    return {
        f"{prefix}.custom.{custom.code}": _plain(custom.python_value(stored.get(custom.code)))
        for custom in custom_fields_for(entity)
    }


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}" if path.startswith("/") else path


@dataclass
class RenderInput:
    """What a template is rendered from: the record (may be gone) and its event."""

    entity: str
    record: Model | None
    event: Event | None = None
    actor: Any = None


@dataclass
class EntityProvider:
    """The merge fields of one entity and how to read them from a record."""

    entity: str
    label: Any
    model_label: str
    account_path: str = "account"
    contact_path: str = ""
    created_events: tuple[str, ...] = ()
    updated_events: tuple[str, ...] = ()
    deleted_events: tuple[str, ...] = ()
    extra_fields: list[tuple[str, Any]] = field(default_factory=list)
    extra_values: Callable[[Model], dict[str, Any]] | None = None
    # The record's fields while its module is not built yet (from the agreed interface),
    # so system templates can be edited and events rendered from their payload.
    expected_fields: tuple[str, ...] = ("number", "status")

    def model(self) -> type[Model] | None:
        try:
            return apps.get_model(self.model_label)
        except (LookupError, ValueError):
            return None

    def trigger_events(self, trigger: str) -> tuple[str, ...]:
        defaults = {
            "created": self.created_events or (f"{self.entity}.created",),
            "updated": self.updated_events or (f"{self.entity}.updated",),
            "deleted": self.deleted_events or (f"{self.entity}.deleted",),
        }
        return defaults.get(trigger, ())

    # ---------------------------------------------------------------- fields
    def fields(self) -> list[MergeField]:
        entity_group = str(self.label)
        result: list[MergeField] = []
        model = self.model()
        if self.entity not in ("account", "contact") and model is not None:
            result += model_merge_fields(model, self.entity, entity_group)
            result += custom_merge_fields(self.entity, self.entity, entity_group)
        elif model is None:
            result += [
                MergeField(
                    f"{self.entity}.{name}", name.replace("_", " ").capitalize(), entity_group
                )
                for name in self.expected_fields
            ]
        result += [MergeField(code, str(label), entity_group) for code, label in self.extra_fields]
        result += account_fields()
        result += contact_fields()
        result += common_fields()
        seen: set[str] = set()
        unique = []
        for merge_field in result:
            if merge_field.code not in seen:
                seen.add(merge_field.code)
                unique.append(merge_field)
        return unique

    def codes(self) -> set[str]:
        return {merge_field.code for merge_field in self.fields()}

    # ---------------------------------------------------------------- records
    def load(self, record_id: Any) -> Model | None:
        model = self.model()
        if model is None or record_id in (None, ""):
            return None
        try:
            return model._default_manager.filter(pk=record_id).first()
        except (ValueError, TypeError):
            return None

    def record_of_event(self, event: Event) -> Model | None:
        model = self.model()
        if model is None:
            return None
        if event.aggregate_type == model._meta.label_lower and event.aggregate_id:
            return self.load(event.aggregate_id)
        return self.load((event.payload or {}).get(f"{self.entity}_id"))

    def record_id_of_event(self, event: Event) -> str:
        model = self.model()
        if model is not None and event.aggregate_type == model._meta.label_lower:
            return event.aggregate_id
        return str((event.payload or {}).get(f"{self.entity}_id") or event.aggregate_id or "")

    def account_of(self, record: Model | None) -> Model | None:
        if record is None:
            return None
        if self.entity == "account":
            return record
        current: Any = record
        for part in self.account_path.split("__"):
            current = getattr(current, part, None)
            if current is None:
                return None
        return current

    def contact_of(self, record: Model | None, account: Model | None) -> Model | None:
        if record is not None and self.entity == "contact":
            return record
        if record is not None and self.contact_path:
            contact = getattr(record, self.contact_path, None)
            if contact is not None:
                return contact
        if account is None:
            return None
        contacts = list(account.contacts.all())
        primary = [contact for contact in contacts if contact.is_primary]
        return primary[0] if primary else None

    def describe(self, record: Model | None) -> str:
        return str(record)[:200] if record is not None else ""

    def values(self, source: RenderInput) -> dict[str, Any]:
        """Every declared merge field with its value (empty when the record lacks it)."""
        codes = self.codes()
        values: dict[str, Any] = dict.fromkeys(codes, "")
        record = source.record
        account = self.account_of(record)
        if account is None and source.event is not None:
            account = _account_from_payload(source.event)
        contact = self.contact_of(record, account)
        if record is not None and self.entity not in ("account", "contact"):
            values.update(model_merge_values(record, self.entity))
            values.update(custom_merge_values(self.entity, record, self.entity))
        if record is None and source.event is not None:
            for key, value in (source.event.payload or {}).items():
                code = f"{self.entity}.{key}"
                if code in values:
                    values[code] = _plain(value)
        if self.extra_values is not None and record is not None:
            values.update(self.extra_values(record))
        values.update(account_values(account))
        values.update(contact_values(contact))
        values.update(common_values(source, record))
        return {code: value for code, value in values.items() if code in codes}


def _account_from_payload(event: Event) -> Model | None:
    payload = event.payload or {}
    account_id = payload.get("account_id") or payload.get("billing_account_id")
    if not account_id:
        return None
    from accounts.models import Account

    return Account.objects.filter(pk=account_id).first()


# -------------------------------------------------------------------- shared groups


def account_fields() -> list[MergeField]:
    from accounts.models import Account

    group = str(_("Account"))
    return [
        *model_merge_fields(Account, "account", group),
        MergeField("account.manager_name", str(_("Account manager")), group),
        MergeField("account.manager_email", str(_("Account manager's email")), group),
        MergeField("account.url", str(_("Account page in the BSS")), group),
        *custom_merge_fields("account", "account", group),
    ]


def account_values(account: Model | None) -> dict[str, Any]:
    if account is None:
        return {}
    manager = account.account_manager
    return {
        **model_merge_values(account, "account"),
        "account.manager_name": (manager.get_full_name() or manager.email) if manager else "",
        "account.manager_email": manager.email if manager else "",
        "account.url": _absolute(account.get_absolute_url()),
        **custom_merge_values("account", account, "account"),
    }


def contact_fields() -> list[MergeField]:
    from accounts.models import Contact

    group = str(_("Contact"))
    return [
        *model_merge_fields(Contact, "contact", group),
        MergeField("contact.full_name", str(_("Full name")), group),
        *custom_merge_fields("contact", "contact", group),
    ]


def contact_values(contact: Model | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        **model_merge_values(contact, "contact"),
        "contact.full_name": contact.full_name,
        **custom_merge_values("contact", contact, "contact"),
    }


def common_fields() -> list[MergeField]:
    user_group, org_group, links_group = str(_("User")), str(_("Organization")), str(_("Links"))
    event_group = str(_("Event"))
    return [
        MergeField("user.full_name", str(_("Acting user: name")), user_group),
        MergeField("user.first_name", str(_("Acting user: first name")), user_group),
        MergeField("user.email", str(_("Acting user: email")), user_group),
        MergeField("org.name", str(_("Organization name")), org_group),
        MergeField("org.email", str(_("Organization email")), org_group),
        MergeField("org.phone", str(_("Organization phone")), org_group),
        MergeField("links.record_url", str(_("The record in the BSS")), links_group),
        MergeField("links.bss_url", str(_("The BSS portal")), links_group),
        MergeField("links.storefront_url", str(_("The Storefront")), links_group),
        *[MergeField(code, str(label), event_group) for code, label in EVENT_FIELDS],
    ]


def common_values(source: RenderInput, record: Model | None) -> dict[str, Any]:
    from bss.setup.organization.selectors import organization

    profile = organization()
    actor = source.actor
    if actor is None and source.event is not None:
        actor = source.event.actor
    payload = (source.event.payload or {}) if source.event is not None else {}
    record_url = ""
    if record is not None and hasattr(record, "get_absolute_url"):
        record_url = _absolute(record.get_absolute_url())
    values: dict[str, Any] = {
        "user.full_name": (actor.get_full_name() or actor.email) if actor else "",
        "user.first_name": actor.first_name if actor else "",
        "user.email": actor.email if actor else "",
        "org.name": profile.legal_name,
        "org.email": profile.email,
        "org.phone": profile.phone,
        "links.record_url": record_url,
        "links.bss_url": settings.SITE_URL,
        "links.storefront_url": getattr(settings, "STOREFRONT_URL", "") or settings.SITE_URL,
        "event.name": source.event.name if source.event is not None else "",
        "event.occurred_at": source.event.created_at if source.event is not None else None,
    }
    for code, _label in EVENT_FIELDS:
        key = code.split(".", 1)[1]
        if key in payload:
            values[code] = _plain(payload[key])
    future = payload.get("future_request")
    if isinstance(future, dict):
        for key, value in future.items():
            values[f"future_request.{key}"] = _plain(value)
    return values


# -------------------------------------------------------------------- the registry

_providers: dict[str, EntityProvider] = {}


def register_provider(provider: EntityProvider) -> None:
    _providers[provider.entity] = provider


def provider_for(entity: str) -> EntityProvider | None:
    return _providers.get(entity)


def providers() -> list[EntityProvider]:
    return list(_providers.values())


def entity_choices() -> list[tuple[str, str]]:
    return [(provider.entity, str(provider.label)) for provider in _providers.values()]


def _invoice_extras(invoice: Model) -> dict[str, Any]:
    return {"invoice.pdf_url": _absolute(invoice.get_absolute_url())}


def _subscription_extras(subscription: Model) -> dict[str, Any]:
    return {
        code: _plain(getattr(subscription, code.split(".", 1)[1], "") or "")
        for code, _label in SUBSCRIPTION_EXTRA_FIELDS
        if code.startswith("subscription.")
    }


def register_builtin_providers() -> None:
    """The entities of the issue; models that do not exist yet are looked up when asked."""
    for provider in [
        EntityProvider("account", _("Accounts"), "accounts.Account"),
        EntityProvider("contact", _("Contacts"), "accounts.Contact"),
        EntityProvider(
            "invoice",
            _("Invoices"),
            "billing.Invoice",
            account_path="billing_account",
            created_events=("invoice.issued",),
            extra_fields=[("invoice.pdf_url", _("Invoice page in the BSS"))],
            extra_values=_invoice_extras,
        ),
        EntityProvider(
            "document",
            _("Documents"),
            "accounts.Document",
            contact_path="contact",
            created_events=("document.uploaded",),
        ),
        EntityProvider(
            "subscription",
            _("Subscriptions"),
            "subscriptions.Subscription",
            extra_fields=SUBSCRIPTION_EXTRA_FIELDS,
            extra_values=_subscription_extras,
            expected_fields=(
                "number",
                "friendly_name",
                "status",
                "quantity",
                "currency",
                "start_date",
                "current_period_start",
                "current_period_end",
                "term_end",
                "trial_end",
                "auto_renew",
            ),
        ),
        EntityProvider("order", _("Orders"), "orders.Order", contact_path="contact"),
        EntityProvider("offer", _("Offers"), "offers.Offer", contact_path="contact"),
        EntityProvider("payment", _("Payments"), "billing.Payment"),
        EntityProvider("case", _("Cases"), "support.Case", contact_path="contact"),
    ]:
        if provider_for(provider.entity) is None:
            register_provider(provider)
