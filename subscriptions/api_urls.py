"""Subscription endpoints under /api/v1/subscriptions/, /api/v1/customer-requests/ and
asset endpoints under /api/v1/assets/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from subscriptions.api import SubscriptionViewSet
from subscriptions.api_assets import AssetViewSet
from subscriptions.api_requests import CustomerRequestViewSet, SubscriptionRequestViewSet
from subscriptions.api_trials import TrialOperationsViewSet, TrialStartView

router = SimpleRouter()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
# Operations of trials and customer requests: POSTs on the subscription, in their own modules.
router.register("subscriptions", TrialOperationsViewSet, basename="subscription-trial")
router.register("subscriptions", SubscriptionRequestViewSet, basename="subscription-request")
router.register("customer-requests", CustomerRequestViewSet, basename="customer-request")
router.register("assets", AssetViewSet, basename="asset")

urlpatterns = [
    # Before the router: its detail route would read "trials" as a subscription id.
    path("subscriptions/trials/", TrialStartView.as_view(), name="subscription-trial-start"),
    *router.urls,
]
