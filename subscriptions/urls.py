from django.urls import path

from subscriptions.views import operations, pages, settings

app_name = "subscriptions"

urlpatterns = [
    path("", pages.SubscriptionListView.as_view(), name="list"),
    path("settings/", settings.subscription_settings_page, name="settings"),
    path("<int:pk>/", pages.subscription_detail, name="detail"),
    path("<int:pk>/cancel/preview/", operations.cancel_preview, name="cancel_preview"),
    path(
        "future-requests/<int:pk>/revoke/",
        pages.future_request_revoke,
        name="future_request_revoke",
    ),
    *operations.operation_urls(),
]
