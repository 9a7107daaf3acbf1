from django.urls import path  # noqa: F401 - filled by the tools setup pages

urlpatterns: list = []
