"""The business entities that setup can shape (custom fields, value lists, permission rules).

Keys are stable strings; the models register themselves when their app lands, so setup
can define fields and rules for an entity before or after its module exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Entity:
    key: str
    label: Any
    module: str


ENTITIES: dict[str, Entity] = {
    entity.key: entity
    for entity in [
        Entity("account", _("Accounts"), "accounts"),
        Entity("contact", _("Contacts"), "contacts"),
        Entity("document", _("Documents"), "documents"),
        Entity("product", _("Products"), "products"),
        Entity("price_list", _("Price lists"), "price_lists"),
        Entity("offer", _("Offers"), "offers"),
        Entity("order", _("Orders"), "orders"),
        Entity("subscription", _("Subscriptions"), "subscriptions"),
        Entity("asset", _("Assets"), "assets"),
        Entity("invoice", _("Invoices"), "invoices"),
        Entity("payment", _("Payments"), "payments"),
        Entity("case", _("Cases"), "cases"),
    ]
}
ENTITY_CHOICES = [(entity.key, entity.label) for entity in ENTITIES.values()]

_entity_models: dict[str, type[Model]] = {}


def register_entity_model(key: str, model: type[Model]) -> None:
    if key not in ENTITIES:
        raise ValueError(f"Unknown entity {key!r}: add it to bss.core.entities.ENTITIES")
    model.entity_key = key  # type: ignore[attr-defined]
    _entity_models[key] = model


def entity_model(key: str) -> type[Model] | None:
    return _entity_models.get(key)


def entity_key_of(model: type[Model]) -> str | None:
    return getattr(model, "entity_key", None)
