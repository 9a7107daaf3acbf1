"""Routes of /api/v1/setup/custom-fields/ and /api/v1/setup/system-field-values/."""

from rest_framework.routers import SimpleRouter

from bss.setup.fields.api import CustomFieldDefinitionViewSet, SystemFieldValueViewSet

router = SimpleRouter()
router.register("custom-fields", CustomFieldDefinitionViewSet, basename="setup-custom-field")
router.register("system-field-values", SystemFieldValueViewSet, basename="setup-system-field-value")

urlpatterns = router.urls
