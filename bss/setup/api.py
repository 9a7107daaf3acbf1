"""API of the setup area: the signed-in user, users and groups (roles with their rights)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.setup import services
from bss.setup.models import Role, User
from bss.setup.serializers import MeSerializer, RoleSerializer, UserSerializer


class MeView(api_views.APIView):
    """The user the request is authenticated as, with the rights they hold."""

    permission_module = "*"
    permission_action = "authenticated"

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = User.objects.prefetch_related("roles").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class UserFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()
    is_superuser = django_filters.BooleanFilter()
    group = django_filters.ModelChoiceFilter(field_name="roles", queryset=Role.objects.all())

    class Meta:
        model = User
        fields: list[str] = []


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Staff users. Users are never deleted: set ``is_active`` to false instead."""

    permission_module = "users"
    serializer_class = UserSerializer
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = UserFilter
    search_fields = ["email", "first_name", "last_name"]
    ordering_fields = ["email", "last_name", "date_joined", "last_login"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        # Staff users are not owned records: the users right opens them all, as on the pages.
        return User.objects.prefetch_related("roles").order_by("email")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_create(
            actor=request.user,
            email=data["email"],
            password=data.get("password") or None,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            is_superuser=data.get("is_superuser", False),
            roles=data.get("roles", []),
            language=data.get("language", ""),
            restricted_modules=data.get("restricted_modules", []),
        )
        output = self.get_serializer(self.get_queryset().get(pk=user.pk))
        return Response(output.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        serializer = self.get_serializer(
            user, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        fields.pop("email", None)
        fields.pop("password", None)
        roles = fields.pop("roles", None)
        services.user_update(actor=request.user, user=user, roles=roles, **fields)
        return Response(self.get_serializer(self.get_queryset().get(pk=user.pk)).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)


class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Groups of users and the module rights each grants."""

    permission_module = "users"
    serializer_class = RoleSerializer
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "member_count", "created_at"]

    def get_queryset(self) -> QuerySet[Role]:
        return Role.objects.annotate(member_count=Count("users")).order_by("name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        role = services.role_save(
            actor=request.user,
            name=data["name"],
            description=data.get("description", ""),
            permissions=data.get("permissions", []),
        )
        output = self.get_serializer(self.get_queryset().get(pk=role.pk))
        return Response(output.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        role = self.get_object()
        serializer = self.get_serializer(
            role, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.role_save(
            actor=request.user,
            role=role,
            name=data.get("name", role.name),
            description=data.get("description", role.description),
            permissions=data.get("permissions", role.permissions),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=role.pk)).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.role_delete(actor=request.user, role=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
