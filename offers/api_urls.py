"""Offers endpoints under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from offers.api import OfferItemViewSet, OfferViewSet, PublicOfferView

router = SimpleRouter()
router.register("offers", OfferViewSet, basename="offer")
router.register("offer-items", OfferItemViewSet, basename="offer-item")

urlpatterns = [
    path("public/offers/<str:token>/", PublicOfferView.as_view(), name="public-offer"),
    *router.urls,
]
