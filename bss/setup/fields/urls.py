from django.urls import path  # noqa: F401 - filled by the fields setup pages

urlpatterns: list = []
