from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OffersConfig(AppConfig):
    name = "offers"
    verbose_name = _("Offers")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import registry
        from bss.core.entities import register_entity_model
        from bss.core.registry import (
            MenuEntry,
            QuickCreateEntry,
            SearchProvider,
            register_menu_entry,
            register_quick_create,
            register_search_provider,
            register_setup_entry,
        )
        from offers import views
        from offers.models import Offer, OfferItem, OfferStatus, OfferTemplate

        auditlog.register(
            Offer,
            exclude_fields=[
                "net_total",
                "discount_total",
                "tax_total",
                "gross_total",
                "monthly_run_rate",
                "link_key",
                "updated_at",
            ],
        )
        auditlog.register(OfferItem)
        auditlog.register(OfferStatus, exclude_fields=["updated_at"])
        auditlog.register(OfferTemplate, exclude_fields=["updated_at"])
        register_entity_model("offer", Offer)
        register_menu_entry(
            MenuEntry(
                "sales", _("Offers"), "offers:list", "offers", icon="file-earmark-text", order=10
            )
        )
        register_quick_create(
            QuickCreateEntry(
                _("New offer"), "offers:create", "offers", icon="file-earmark-plus", order=25
            )
        )
        for entry in (
            MenuEntry(
                "setup",
                _("Offer statuses"),
                "offers:status_list",
                "setup",
                "manage",
                icon="signpost",
                order=71,
            ),
            MenuEntry(
                "setup",
                _("Offer template"),
                "offers:template",
                "setup",
                "manage",
                icon="file-earmark-richtext",
                order=72,
            ),
        ):
            register_setup_entry(entry)
        register_search_provider(
            SearchProvider(
                label=_("Offers"),
                module="offers",
                queryset=lambda: Offer.objects.select_related("account"),
                number_field="number",
                name_fields=("name", "account__name"),
                describe=lambda offer: f"{offer.number} · {offer.account.name}",
                url=lambda offer: offer.get_absolute_url(),
            )
        )
        registry.register_account_tab(
            registry.AccountTab(
                key="offers",
                label=_("Offers"),
                module="offers",
                render=views.account_offers_tab,
                icon="file-earmark-text",
                order=registry.TAB_ORDER["offers"],
            )
        )
        registry.register_transaction_check(views.describe_offers, key="offers.offers")
