"""Subscription endpoints under /api/v1/subscriptions/ and asset endpoints under /api/v1/assets/."""

from rest_framework.routers import SimpleRouter

from subscriptions.api import SubscriptionViewSet
from subscriptions.api_assets import AssetViewSet

router = SimpleRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("assets", AssetViewSet, basename="asset")

urlpatterns = router.urls
