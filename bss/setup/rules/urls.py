from django.urls import path  # noqa: F401 - filled by the rules setup pages

urlpatterns: list = []
