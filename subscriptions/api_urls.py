"""Subscription endpoints under /api/v1/subscriptions/."""

from rest_framework.routers import SimpleRouter

from subscriptions.api import SubscriptionViewSet

router = SimpleRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = router.urls
