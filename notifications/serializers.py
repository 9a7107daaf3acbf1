"""API shapes of notification templates, logged messages and the test email."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Message, NotificationTemplate, TemplateText


class TemplateTextSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateText
        fields = ["language", "subject", "body_html"]


class NotificationTemplateSerializer(serializers.ModelSerializer):
    texts = TemplateTextSerializer(many=True, read_only=True)

    class Meta:
        model = NotificationTemplate
        fields = [
            "id",
            "code",
            "name",
            "entity",
            "description",
            "is_active",
            "is_system",
            "is_internal",
            "trigger",
            "event_name",
            "when_to_send",
            "apply_rule",
            "active_since",
            "conditions",
            "from_address",
            "recipients",
            "attachment",
            "texts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    template_code = serializers.CharField(source="template.code", read_only=True, default=None)
    event_name = serializers.CharField(source="event.name", read_only=True, default=None)

    class Meta:
        model = Message
        fields = [
            "id",
            "template",
            "template_code",
            "event",
            "event_name",
            "entity",
            "record_id",
            "record_label",
            "language",
            "from_address",
            "to",
            "cc",
            "bcc",
            "subject",
            "body_html",
            "attachments",
            "status",
            "error",
            "server_response",
            "retry_count",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "resent_from",
        ]
        read_only_fields = fields


class TestEmailResultSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    to = serializers.EmailField()
    server_response = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    message = serializers.IntegerField(help_text="The log entry of the test email.")
