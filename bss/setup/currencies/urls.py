from django.urls import path

from bss.setup.currencies import views

urlpatterns = [
    path("", views.CurrencyListView.as_view(), name="currency_list"),
    path("new/", views.currency_create, name="currency_create"),
    path("<str:code>/", views.currency_detail, name="currency_detail"),
    path("<str:code>/edit/", views.currency_edit, name="currency_edit"),
    path("<str:code>/home/", views.currency_make_home, name="currency_make_home"),
    path("<str:code>/rates/", views.exchange_rate_add, name="exchange_rate_add"),
    path(
        "<str:code>/rates/<int:pk>/delete/",
        views.exchange_rate_delete,
        name="exchange_rate_delete",
    ),
]
