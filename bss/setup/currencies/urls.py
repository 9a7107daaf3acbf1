from django.urls import path  # noqa: F401 - filled by the currencies setup pages

urlpatterns: list = []
