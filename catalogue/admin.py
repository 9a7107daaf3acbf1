"""Read-only Django admin views of the catalogue: every change goes through the pages,
the API or the importer, which call catalogue.services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from catalogue.models import PriceList, PriceListItem, Product, ProductImport, ProductPlan


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "status", "product_type", "category"]
    list_filter = ["kind", "status"]
    search_fields = ["code", "name"]


@admin.register(ProductPlan)
class ProductPlanAdmin(ReadOnlyAdmin):
    list_display = ["product", "billing_cycle", "commitment_months", "charge_type"]
    list_select_related = ["product"]


@admin.register(PriceList)
class PriceListAdmin(ReadOnlyAdmin):
    list_display = ["name", "currency", "is_default", "is_active", "owner"]


@admin.register(PriceListItem)
class PriceListItemAdmin(ReadOnlyAdmin):
    list_display = ["price_list", "plan", "method", "fixed_price", "percent"]
    list_select_related = ["price_list", "plan__product"]


@admin.register(ProductImport)
class ProductImportAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "status", "created_count", "updated_count", "created_at"]
    exclude = ["file_content"]
