"""Setup endpoints under /api/v1/: the signed-in user, users, groups and the setup areas."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bss.setup.api import MeView, RoleViewSet, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")
router.register("roles", RoleViewSet, basename="role")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
    path("", include("bss.setup.organization.api")),
    path("", include("bss.setup.currencies.api")),
    path("setup/", include("bss.setup.fields.api_urls")),
    path("setup/", include("bss.setup.rules.api_urls")),
]
