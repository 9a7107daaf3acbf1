from django.urls import path

from bss.setup.tools import views

urlpatterns = [
    path("", views.tool_list, name="tool_list"),
    path("runs/<int:pk>/", views.tool_run_detail, name="tool_run"),
    path("runs/<int:pk>/status/", views.tool_run_status, name="tool_run_status"),
    path("runs/<int:pk>/export/", views.tool_run_export, name="tool_run_export"),
    path("<str:code>/", views.tool_detail, name="tool_detail"),
]
