"""Notification endpoints under /api/v1/notifications/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.api import MessageViewSet, NotificationTemplateViewSet, TestEmailView

router = SimpleRouter()
router.register(
    "notifications/templates", NotificationTemplateViewSet, basename="notification-template"
)
router.register("notifications/messages", MessageViewSet, basename="notification-message")

urlpatterns = [
    path("notifications/test-email/", TestEmailView.as_view(), name="notification-test-email"),
    *router.urls,
]
