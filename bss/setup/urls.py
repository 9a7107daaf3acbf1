from django.urls import include, path

from bss.setup import views

app_name = "setup"

urlpatterns = [
    path("", views.setup_home, name="home"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("groups/", views.RoleListView.as_view(), name="role_list"),
    path("groups/new/", views.role_create, name="role_create"),
    path("groups/<int:pk>/", views.role_edit, name="role_edit"),
    path("groups/<int:pk>/delete/", views.role_delete, name="role_delete"),
    path("permission-rules/", include("bss.setup.rules.urls")),
    path("fields/", include("bss.setup.fields.urls")),
    path("organization/", include("bss.setup.organization.urls")),
    path("currencies/", include("bss.setup.currencies.urls")),
    path("languages/", include("bss.setup.languages.urls")),
    path("tools/", include("bss.setup.tools.urls")),
]
