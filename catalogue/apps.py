from __future__ import annotations

from django.apps import AppConfig
from django.db.models import Model
from django.utils.translation import gettext_lazy as _


def _reverse_relations(model: type[Model]) -> list[str]:
    """Reverse relations are not the record's own values; auditlog would log them as fields."""
    return [
        field.name
        for field in model._meta.get_fields()
        if field.auto_created and not field.concrete
    ]


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = _("Product catalogue")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bss.core.entities import register_entity_model
        from bss.core.registry import (
            MenuEntry,
            QuickCreateEntry,
            register_menu_entry,
            register_quick_create,
            register_setup_entry,
        )
        from catalogue import gsd, models

        for model in (
            models.Category,
            models.ProductGroup,
            models.ProductType,
            models.ProductPlan,
            models.ProductPrice,
            models.VolumeDiscount,
            models.VolumeTier,
            models.PriceList,
            models.PriceListItem,
            models.Promotion,
            models.ProductRequirement,
            models.ProductExclusion,
            models.ProductUpgrade,
            models.BundleComponent,
        ):
            auditlog.register(model, exclude_fields=_reverse_relations(model))
        auditlog.register(
            models.Product,
            m2m_fields={"primary_products"},
            exclude_fields=_reverse_relations(models.Product),
        )
        auditlog.register(
            models.Integration,
            exclude_fields=["auth_token", *_reverse_relations(models.Integration)],
        )
        register_entity_model("product", models.Product)
        register_entity_model("price_list", models.PriceList)

        for entry in (
            MenuEntry(
                "billing",
                _("Products"),
                "catalogue:product_list",
                "products",
                icon="box-seam",
                order=10,
            ),
            MenuEntry(
                "billing",
                _("Price lists"),
                "catalogue:price_list_list",
                "price_lists",
                icon="tags",
                order=20,
            ),
            MenuEntry(
                "billing",
                _("Promotions"),
                "catalogue:promotion_list",
                "products",
                icon="megaphone",
                order=30,
            ),
        ):
            register_menu_entry(entry)
        register_setup_entry(
            MenuEntry(
                "setup",
                _("Integrations"),
                "catalogue:integration_list",
                "setup",
                "manage",
                icon="plug",
                order=60,
            )
        )
        gsd.register_connector(gsd.GenericJsonConnector())
        register_quick_create(
            QuickCreateEntry(
                _("New product"), "catalogue:product_create", "products", icon="box-seam", order=20
            )
        )
