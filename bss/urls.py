"""URL map of the portal: pages, authentication, API and operations."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bss.core.health import healthz

urlpatterns = [
    path("", include("bss.core.urls")),
    path("auth/", include("allauth.urls")),
    path("setup/", include("bss.setup.urls")),
    path("accounts/", include("accounts.urls")),
    path("catalogue/", include("catalogue.urls")),
    path("billing/", include("billing.urls")),
    path("notifications/", include("notifications.urls")),
    path("payments/", include("payments.urls")),
    path("orders/", include("orders.urls")),
    path("offers/", include("offers.urls")),
    path("subscriptions/", include("subscriptions.urls")),
    path("subscriptions/", include("subscriptions.urls_lifecycle")),
    path("assets/", include("subscriptions.urls_assets")),
    path("usage/", include("subscriptions.urls_usage")),
    path("api/v1/", include("bss.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
