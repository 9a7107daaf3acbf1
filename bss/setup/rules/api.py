"""API: permission rules with their entities, grants and sharing nested."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers

from bss.core import api_views
from bss.core.entities import ENTITY_CHOICES
from bss.setup.models import PermissionRule, Role, User
from bss.setup.models.rules import Access
from bss.setup.rules import selectors, services

RULE_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "manage",
    "update": "manage",
    "partial_update": "manage",
    "destroy": "manage",
}


class RuleModuleSerializer(serializers.Serializer):
    entity = serializers.ChoiceField(choices=ENTITY_CHOICES)
    is_default = serializers.BooleanField(default=False)


class GranteeSerializer(serializers.Serializer):
    """Exactly one of ``user`` and ``role`` (a group)."""

    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False
    )
    role = serializers.PrimaryKeyRelatedField(
        queryset=Role.objects.all(), allow_null=True, required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("user")) == bool(attrs.get("role")):
            raise serializers.ValidationError("Give either a user or a group (role), not both.")
        return attrs


class RuleGrantSerializer(GranteeSerializer):
    access = serializers.ChoiceField(choices=Access.choices)


class PermissionRuleSerializer(serializers.ModelSerializer):
    modules = RuleModuleSerializer(many=True, required=False)
    grants = RuleGrantSerializer(many=True, required=False)
    sharing = GranteeSerializer(many=True, required=False)

    class Meta:
        model = PermissionRule
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "modules",
            "grants",
            "sharing",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        # rule_save reports a duplicate name with a readable message.
        extra_kwargs = {"name": {"validators": []}}

    def to_representation(self, instance: PermissionRule) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "name": instance.name,
            "description": instance.description,
            "is_active": instance.is_active,
            "modules": [
                {"entity": row.entity, "is_default": row.is_default}
                for row in instance.modules.all()
            ],
            "grants": [
                {"user": row.user_id, "role": row.role_id, "access": row.access}
                for row in instance.grants.all()
            ],
            "sharing": [
                {"user": row.user_id, "role": row.role_id} for row in instance.sharing.all()
            ],
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
        }


def _grantee(row: dict[str, Any]) -> User | Role:
    return row.get("user") or row["role"]


class PermissionRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    api_views.GenericViewSet,
):
    """Record-visibility rules. PUT and PATCH replace the nested lists they include."""

    permission_module = "setup"
    permission_actions = RULE_ACTIONS
    serializer_class = PermissionRuleSerializer
    filterset_fields = ["is_active"]

    def get_queryset(self) -> QuerySet[PermissionRule]:
        return PermissionRule.objects.prefetch_related(
            "modules", "grants__user", "grants__role", "sharing__user", "sharing__role"
        ).order_by("name")

    def _arguments(
        self, data: dict[str, Any], rule: PermissionRule | None = None
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "name": data.get("name", rule.name if rule else ""),
            "description": data.get("description", rule.description if rule else ""),
            "is_active": data.get("is_active", rule.is_active if rule else True),
        }
        if "modules" in data:
            arguments["modules"] = {row["entity"]: row["is_default"] for row in data["modules"]}
        else:
            arguments["modules"] = (
                {row.entity: row.is_default for row in rule.modules.all()} if rule else {}
            )
        if "grants" in data:
            arguments["grants"] = [(_grantee(row), row["access"]) for row in data["grants"]]
        elif rule:
            arguments["grants"] = [(row.user or row.role, row.access) for row in rule.grants.all()]
        if "sharing" in data:
            arguments["sharing"] = [_grantee(row) for row in data["sharing"]]
        elif rule:
            arguments["sharing"] = [row.user or row.role for row in rule.sharing.all()]
        return arguments

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        rule = services.rule_save(
            actor=self.request.user, **self._arguments(dict(serializer.validated_data))
        )
        serializer.instance = selectors.rule_with_rows(rule.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        rule = serializer.instance
        services.rule_save(
            actor=self.request.user,
            rule=rule,
            **self._arguments(dict(serializer.validated_data), rule),
        )
        serializer.instance = selectors.rule_with_rows(rule.pk)

    def perform_destroy(self, instance: PermissionRule) -> None:
        services.rule_delete(actor=self.request.user, rule=instance)
