from django.urls import path

from bss.setup.fields import views

urlpatterns = [
    path("", views.field_home, name="field_home"),
    path("custom/", views.CustomFieldListView.as_view(), name="custom_field_list"),
    path("custom/new/", views.custom_field_create, name="custom_field_create"),
    path("custom/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("custom/<int:pk>/remove/", views.custom_field_remove, name="custom_field_remove"),
    path("custom/<int:pk>/restore/", views.custom_field_restore, name="custom_field_restore"),
    path("custom/<int:pk>/purge/", views.custom_field_purge, name="custom_field_purge"),
    path("<slug:entity>/", views.field_entity, name="field_entity"),
    path("<slug:entity>/<slug:field>/values/", views.value_list_edit, name="value_list_edit"),
]
