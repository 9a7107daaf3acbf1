"""Notifications API: templates (read, activate, deactivate), the message log, a test email."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from notifications import services
from notifications.models import Message, MessageStatus, NotificationTemplate
from notifications.serializers import (
    MessageSerializer,
    NotificationTemplateSerializer,
    TestEmailResultSerializer,
)


class TemplateFilter(django_filters.FilterSet):
    entity = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()
    is_system = django_filters.BooleanFilter()
    event_name = django_filters.CharFilter()

    class Meta:
        model = NotificationTemplate
        fields: list[str] = []


class NotificationTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """Notification templates with their subject and body per language."""

    permission_module = "notifications"
    permission_actions = {"activate": "edit", "deactivate": "edit"}
    serializer_class = NotificationTemplateSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = TemplateFilter
    ordering_fields = ["name", "entity", "code", "created_at"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[NotificationTemplate]:
        return NotificationTemplate.objects.prefetch_related("texts").order_by(
            "entity", "name", "pk"
        )

    def _answer(self, template: NotificationTemplate) -> Response:
        fresh = self.get_queryset().get(pk=template.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=None, responses=NotificationTemplateSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Activate: from now on its events send it ("new records only" counts from now)."""
        template = services.template_set_active(
            actor=request.user, template=self.get_object(), active=True
        )
        return self._answer(template)

    @extend_schema(request=None, responses=NotificationTemplateSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """Deactivate: its events send nothing until it is activated again."""
        template = services.template_set_active(
            actor=request.user, template=self.get_object(), active=False
        )
        return self._answer(template)


class MessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices)
    template = django_filters.NumberFilter(field_name="template_id")
    recipient = django_filters.CharFilter(field_name="recipients_text", lookup_expr="icontains")
    created = django_filters.DateFromToRangeFilter(field_name="created_at")

    class Meta:
        model = Message
        fields: list[str] = []


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """The notification log: every email with its recipients, body, status and error."""

    permission_module = "notifications"
    serializer_class = MessageSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = MessageFilter
    ordering_fields = ["created_at", "sent_at", "status"]

    def get_queryset(self) -> QuerySet[Message]:
        return Message.objects.select_related("template", "event").order_by("-created_at", "-pk")


class TestEmailView(api_views.APIView):
    """Send a test email to the calling user through the email preferences."""

    permission_module = "notifications"
    permission_actions = {"POST": "manage"}

    @extend_schema(request=None, responses=TestEmailResultSerializer)
    def post(self, request: Request) -> Response:
        message = services.send_test_email(actor=request.user)
        sent = message.status == MessageStatus.COMPLETED
        return Response(
            TestEmailResultSerializer(
                {
                    "sent": sent,
                    "to": request.user.email,
                    "server_response": message.server_response,
                    "error": message.error,
                    "message": message.pk,
                }
            ).data,
            status=200 if sent else 502,
        )
