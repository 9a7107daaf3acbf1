"""Every endpoint of /api/v1/; each app contributes its router entries."""

from django.urls import include, path

urlpatterns = [
    path("", include("bss.setup.api_urls")),
]
