"""API of the organization profile: GET and PATCH /api/v1/organization/."""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.setup.models import Currency, Organization
from bss.setup.organization.selectors import file_space, organization
from bss.setup.organization.services import organization_update

# The setup module has the actions view and manage (no create/edit/delete), so every
# setup endpoint maps its viewset actions and HTTP methods onto those two.
SETUP_PERMISSION_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "metadata": "view",
    "create": "manage",
    "update": "manage",
    "partial_update": "manage",
    "destroy": "manage",
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "manage",
    "PUT": "manage",
    "PATCH": "manage",
    "DELETE": "manage",
}


class OrganizationSerializer(serializers.ModelSerializer):
    home_currency = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Currency.objects.filter(is_active=True),
        required=False,
        help_text="ISO code of an active currency; changing it re-bases the exchange rates.",
    )
    logo_url = serializers.SerializerMethodField()
    file_space_used_bytes = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "legal_name",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "country",
            "tax_id",
            "email",
            "phone",
            "home_currency",
            "default_language",
            "time_zone",
            "date_format",
            "number_locale",
            "file_space_mb",
            "file_space_used_bytes",
            "logo_url",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def get_logo_url(self, profile: Organization) -> str | None:
        return reverse("setup:organization_logo") if profile.logo else None

    def get_file_space_used_bytes(self, profile: Organization) -> int:
        return file_space().used_bytes


class OrganizationView(api_views.APIView):
    """The organization profile (a single record)."""

    permission_module = "setup"
    permission_actions = SETUP_PERMISSION_ACTIONS

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request: Request) -> Response:
        return Response(OrganizationSerializer(organization()).data)

    @extend_schema(request=OrganizationSerializer, responses=OrganizationSerializer)
    def patch(self, request: Request) -> Response:
        serializer = OrganizationSerializer(organization(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(serializer.validated_data)
        home_currency = fields.pop("home_currency", None)
        updated = organization_update(actor=request.user, home_currency=home_currency, **fields)
        return Response(OrganizationSerializer(updated).data)


urlpatterns = [path("organization/", OrganizationView.as_view(), name="organization")]
