"""Customer account endpoints under /api/v1/."""

from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet

router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = router.urls
