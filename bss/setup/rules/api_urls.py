"""Routes of /api/v1/setup/permission-rules/."""

from rest_framework.routers import SimpleRouter

from bss.setup.rules.api import PermissionRuleViewSet

router = SimpleRouter()
router.register("permission-rules", PermissionRuleViewSet, basename="setup-permission-rule")

urlpatterns = router.urls
