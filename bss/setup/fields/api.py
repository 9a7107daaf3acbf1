"""API: custom field definitions, systemic value lists, and the ``custom_fields`` field.

``CustomFieldsField(entity)`` is what every entity serializer plugs in to read and write
its custom data through the same validation as the forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.core.entities import ENTITY_CHOICES
from bss.setup.fields import selectors, services
from bss.setup.fields.values import account_context_of, validate_custom_data
from bss.setup.models import CustomFieldDefinition, SystemFieldValue

SETUP_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "manage",
    "update": "manage",
    "partial_update": "manage",
    "destroy": "manage",
    "purge": "manage",
    "restore": "manage",
}

AccountContext = Callable[[serializers.Serializer], Mapping[str, Any] | None]


def own_account_context(serializer: serializers.Serializer) -> Mapping[str, Any] | None:
    """For account serializers: the account's stored values overlaid with the request's."""
    changes = serializer.initial_data if hasattr(serializer, "initial_data") else {}
    return account_context_of(serializer.instance, changes if isinstance(changes, Mapping) else {})


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "Custom field values by key; send null to clear one.",
    }
)
class CustomFieldsField(serializers.Field):
    """An entity's custom data as ``{key: value}``: active fields when read, validated on write.

    Written values go through ``validate_custom_data``; the field returns the submitted
    values (cleaned) and the entity's service merges them into the stored custom data.
    ``account_context`` gives the values display rules test; accounts use their own.
    """

    def __init__(
        self, entity: str, *, account_context: AccountContext | None = None, **kwargs: Any
    ) -> None:
        self.entity = entity
        self.account_context = account_context or (
            own_account_context if entity == "account" else None
        )
        kwargs.setdefault("source", "custom_data")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def active_codes(self) -> list[str]:
        # Read once per serializer: a list response reuses the field for every row.
        if not hasattr(self, "_active_codes"):
            self._active_codes = [
                custom_field.code for custom_field in selectors.active_custom_fields(self.entity)
            ]
        return self._active_codes

    def to_representation(self, value: Any) -> dict[str, Any]:
        stored = value or {}
        return {code: stored.get(code) for code in self.active_codes()}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError("Expected an object of custom field keys and values.")
        parent = self.parent
        instance = getattr(parent, "instance", None)
        context = self.account_context(parent) if self.account_context else None
        try:
            validate_custom_data(
                self.entity,
                data,
                account_context=context,
                existing=getattr(instance, "custom_data", None) if instance else None,
            )
        except DjangoValidationError as invalid:
            raise serializers.ValidationError(invalid.message_dict) from invalid
        return dict(data)


class CustomFieldDefinitionSerializer(serializers.ModelSerializer):
    entity = serializers.ChoiceField(choices=ENTITY_CHOICES)
    code = serializers.CharField(max_length=50, required=False, allow_blank=True)
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    default_value = serializers.JSONField(required=False, allow_null=True)
    display_rule = serializers.JSONField(required=False)

    class Meta:
        model = CustomFieldDefinition
        fields = [
            "id",
            "entity",
            "code",
            "label",
            "field_type",
            "group",
            "ordering",
            "suffix",
            "description",
            "is_required",
            "default_value",
            "choices",
            "is_search_criterion",
            "display_rule",
            "provisioning_code",
            "show_in_storefront",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["is_active", "created_at"]
        # The services check uniqueness with a readable message.
        validators: list[Any] = []
        extra_kwargs = {"provisioning_code": {"validators": []}}


class CustomFieldDefinitionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    api_views.GenericViewSet,
):
    """Custom fields of every entity. DELETE removes (hides) a field; purge erases its values."""

    permission_module = "setup"
    permission_actions = SETUP_ACTIONS
    serializer_class = CustomFieldDefinitionSerializer
    filterset_fields = ["entity", "is_active", "field_type"]

    def get_queryset(self) -> QuerySet[CustomFieldDefinition]:
        return CustomFieldDefinition.objects.order_by("entity", "group", "ordering", "pk")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.custom_field_create(
            actor=self.request.user,
            entity=data.pop("entity"),
            label=data.pop("label"),
            field_type=data.pop("field_type"),
            code=data.pop("code", "") or "",
            **data,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        definition = serializer.instance
        data = dict(serializer.validated_data)
        for fixed in ("entity", "code", "field_type"):
            if fixed in data and data[fixed] == getattr(definition, fixed):
                data.pop(fixed)
        serializer.instance = services.custom_field_update(
            actor=self.request.user, definition=definition, **data
        )

    def perform_destroy(self, instance: CustomFieldDefinition) -> None:
        services.custom_field_remove(actor=self.request.user, definition=instance)

    @extend_schema(request=None, responses=CustomFieldDefinitionSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        definition = self.get_object()
        services.custom_field_restore(actor=request.user, definition=definition)
        return Response(self.get_serializer(definition).data)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def purge(self, request: Request, pk: str | None = None) -> Response:
        """Erase a removed field's values from every record, then the field."""
        definition = self.get_object()
        purged = services.custom_field_purge(actor=request.user, definition=definition)
        return Response({"purged_records": purged}, status=status.HTTP_200_OK)


class SystemFieldValueSerializer(serializers.ModelSerializer):
    entity = serializers.ChoiceField(choices=ENTITY_CHOICES)
    value = serializers.CharField(max_length=50, required=False, allow_blank=True)
    order_no = serializers.IntegerField(min_value=0, required=False)

    class Meta:
        model = SystemFieldValue
        fields = ["id", "entity", "field", "value", "label", "order_no", "is_default", "is_active"]
        validators: list[Any] = []


class SystemFieldValueViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    api_views.GenericViewSet,
):
    """Values of the systemic choice fields (industry, lead source, case category…).

    Values are never deleted (records hold their keys); deactivate them instead.
    """

    permission_module = "setup"
    permission_actions = SETUP_ACTIONS
    serializer_class = SystemFieldValueSerializer
    filterset_fields = ["entity", "field", "is_active"]

    def get_queryset(self) -> QuerySet[SystemFieldValue]:
        return SystemFieldValue.objects.order_by("entity", "field", "order_no", "pk")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.system_value_add(
            actor=self.request.user,
            entity=data["entity"],
            field=data["field"],
            label=data["label"],
            value=data.get("value", ""),
            order_no=data.get("order_no"),
            is_default=data.get("is_default", False),
            is_active=data.get("is_active", True),
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        value_row = serializer.instance
        data = dict(serializer.validated_data)
        fixed = {
            name
            for name in ("entity", "field", "value")
            if name in data and data[name] != getattr(value_row, name)
        }
        if fixed:
            raise serializers.ValidationError(
                {name: ["This cannot change once the value exists."] for name in sorted(fixed)}
            )
        changes = {
            name: data[name]
            for name in ("label", "order_no", "is_default", "is_active")
            if name in data
        }
        serializer.instance = services.system_value_update(
            actor=self.request.user, value_row=value_row, **changes
        )
