from django.urls import path

from subscriptions import views_usage

app_name = "usage"

urlpatterns = [
    path("upload/", views_usage.usage_upload, name="upload"),
]
