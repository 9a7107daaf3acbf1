from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("email/", views.email_settings, name="email_settings"),
    path("email/test/", views.email_test, name="email_test"),
    path("email/google/authorize/", views.google_authorize, name="google_authorize"),
    path("email/google/callback/", views.google_callback, name="google_callback"),
    path("templates/", views.TemplateListView.as_view(), name="template_list"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/activate/", views.template_activate, name="template_activate"),
    path("templates/<int:pk>/deactivate/", views.template_deactivate, name="template_deactivate"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("templates/preview/<str:entity>/", views.template_preview, name="template_preview"),
    path("log/", views.MessageListView.as_view(), name="message_list"),
    path("log/<int:pk>/", views.message_detail, name="message_detail"),
    path("log/<int:pk>/resend/", views.message_resend, name="message_resend"),
]
