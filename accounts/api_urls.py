"""Customers endpoints under /api/v1/."""

from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet, AddressViewSet, ContactViewSet, DocumentViewSet

router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("addresses", AddressViewSet, basename="address")
router.register("documents", DocumentViewSet, basename="document")

urlpatterns = router.urls
