"""Catalogue endpoints under /api/v1/catalogue/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from catalogue.api import (
    CategoryViewSet,
    GsdRunViewSet,
    PriceListItemViewSet,
    PriceListViewSet,
    ProductTypeViewSet,
    ProductViewSet,
    QuoteView,
)

router = SimpleRouter()
router.register("catalogue/categories", CategoryViewSet, basename="category")
router.register("catalogue/product-types", ProductTypeViewSet, basename="product-type")
router.register("catalogue/products", ProductViewSet, basename="product")
router.register("catalogue/price-lists", PriceListViewSet, basename="price-list")
router.register("catalogue/price-list-items", PriceListItemViewSet, basename="price-list-item")
router.register("catalogue/gsd-runs", GsdRunViewSet, basename="gsd-run")

urlpatterns = [
    path("catalogue/quote/", QuoteView.as_view(), name="price-quote"),
    *router.urls,
]
