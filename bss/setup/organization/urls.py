from django.urls import path  # noqa: F401 - filled by the organization setup pages

urlpatterns: list = []
