from django.urls import path

from bss.setup.organization import views

urlpatterns = [
    path("", views.organization_profile, name="organization"),
    path("edit/", views.organization_edit, name="organization_edit"),
    path("logo/", views.organization_logo, name="organization_logo"),
]
