from django.urls import path  # noqa: F401 - filled by the languages setup pages

urlpatterns: list = []
