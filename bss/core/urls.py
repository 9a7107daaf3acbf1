from django.urls import path

from bss.core import views

app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.global_search, name="search"),
    path("language/", views.switch_language, name="switch_language"),
    path("setup/log-records/", views.AuditLogView.as_view(), name="audit_log"),
    path("setup/log-records/consents/", views.ConsentLogView.as_view(), name="consent_log"),
    path("me/api-token/", views.api_token, name="api_token"),
]
