from django.urls import path

from bss.setup.rules import views

urlpatterns = [
    path("", views.RuleListView.as_view(), name="rule_list"),
    path("new/", views.rule_create, name="rule_create"),
    path("<int:pk>/", views.rule_edit, name="rule_edit"),
    path("<int:pk>/delete/", views.rule_delete, name="rule_delete"),
]
