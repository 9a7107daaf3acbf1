"""Every endpoint of /api/v1/; each app contributes its router entries."""

from django.urls import include, path, re_path

from bss.core.api_views import UnknownEndpointView
from subscriptions.api_usage import UsageBatchView

app_name = "api"

urlpatterns = [
    # Before any subscriptions router: its detail route would read "usage" as an id.
    path("subscriptions/usage/", UsageBatchView.as_view(), name="subscription-usage"),
    path("", include("bss.setup.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("catalogue.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("subscriptions.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("offers.api_urls")),
    # Last: any other address under /api/v1/ answers 404 in the API's JSON error shape.
    re_path(r"^.*$", UnknownEndpointView.as_view(), name="unknown"),
]
