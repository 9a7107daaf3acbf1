"""API shapes of users and groups: they parse input; bss.setup.services writes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bss.core.permissions import MODULES, all_permission_codes, user_has_permission
from bss.setup.models import Role, User


def effective_rights(user: User) -> list[str]:
    """The rights a user holds after groups, administrator status and restricted modules."""
    return [
        code for code in all_permission_codes() if user_has_permission(user, *code.split(".", 1))
    ]


class GroupSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name"]


class MeSerializer(serializers.ModelSerializer):
    restricted_modules = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Modules this user may not open, whatever the groups grant.",
    )
    groups = GroupSummarySerializer(source="roles", many=True, read_only=True)
    rights = serializers.SerializerMethodField(
        help_text="Every right the user holds, as module.action codes."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "language",
            "is_superuser",
            "restricted_modules",
            "groups",
            "rights",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_rights(self, user: User) -> list[str]:
        return effective_rights(user)


class UserSerializer(serializers.ModelSerializer):
    # Uniqueness (case-insensitive) is the service's rule, not a serializer validator.
    email = serializers.EmailField(max_length=254, help_text="The login; fixed once created.")
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        style={"input_type": "password"},
        help_text="Initial password, on create only. Leave it out to let the user set one "
        "through the password-reset email.",
    )
    # Every shipped language; the service refuses the ones setup has disabled.
    language = serializers.ChoiceField(
        choices=[("", ""), *settings.LANGUAGES], required=False, allow_blank=True
    )
    groups = serializers.PrimaryKeyRelatedField(
        source="roles", many=True, queryset=Role.objects.all(), required=False
    )
    restricted_modules = serializers.ListField(
        child=serializers.ChoiceField(choices=list(MODULES)),
        required=False,
        help_text="Modules this user may not open, whatever the groups grant.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "password",
            "first_name",
            "last_name",
            "language",
            "is_active",
            "is_superuser",
            "groups",
            "restricted_modules",
            "date_joined",
            "last_login",
        ]
        read_only_fields = ["date_joined", "last_login"]

    def validate_email(self, email: str) -> str:
        email = email.strip().lower()
        if self.instance is not None and email != self.instance.email:
            raise serializers.ValidationError("The email is the login and cannot be changed.")
        return email

    def validate_password(self, password: str) -> str:
        if self.instance is not None and password:
            raise serializers.ValidationError(
                "Passwords are changed by their user, not through this endpoint."
            )
        if password:
            try:
                validate_password(password)
            except DjangoValidationError as error:
                raise serializers.ValidationError(list(error.messages)) from error
        return password

    def validate_is_active(self, is_active: bool) -> bool:
        if self.instance is None and not is_active:
            raise serializers.ValidationError("New users start active; deactivate them later.")
        return is_active


class RoleSerializer(serializers.ModelSerializer):
    # Uniqueness (case-insensitive) is the service's rule, not a serializer validator.
    name = serializers.CharField(max_length=100)
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=all_permission_codes()),
        required=False,
        help_text="The rights the group grants, as module.action codes.",
    )
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions", "member_count", "created_at"]
        read_only_fields = ["created_at"]
