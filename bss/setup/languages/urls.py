from django.urls import path

from bss.setup.languages import views

urlpatterns = [
    path("", views.language_list, name="language_list"),
    path("import/", views.language_import, name="language_import"),
    path("<str:language>/enable/", views.language_toggle, name="language_toggle"),
    path("<str:language>/default/", views.language_make_default, name="language_make_default"),
    path("<str:language>/strings/", views.language_strings, name="language_strings"),
    path(
        "<str:language>/strings/<str:digest>/",
        views.language_string_edit,
        name="language_string_edit",
    ),
    path(
        "<str:language>/strings/<str:digest>/reset/",
        views.language_string_reset,
        name="language_string_reset",
    ),
    path("<str:language>/export/", views.language_export, name="language_export"),
]
