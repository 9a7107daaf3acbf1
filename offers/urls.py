from django.urls import path

from offers import views

app_name = "offers"

urlpatterns = [
    path("", views.OfferListView.as_view(), name="list"),
    path("new/", views.offer_create, name="create"),
    path("<int:pk>/", views.offer_detail, name="detail"),
    path("<int:pk>/edit/", views.offer_edit, name="edit"),
    path("<int:pk>/delete/", views.offer_delete, name="delete"),
    path("<int:pk>/items/new/", views.offer_item_add, name="item_add"),
    path("<int:pk>/status/", views.offer_status_change, name="status_change"),
    path("<int:pk>/copy/", views.offer_copy, name="copy"),
    path("<int:pk>/pdf/", views.offer_pdf, name="pdf"),
    path("<int:pk>/share/", views.offer_share, name="share"),
    path("<int:pk>/share/revoke/", views.offer_revoke_link, name="revoke_link"),
    path("<int:pk>/convert/", views.offer_convert, name="convert"),
    path("items/<int:pk>/edit/", views.offer_item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.offer_item_remove, name="item_remove"),
    path("statuses/", views.OfferStatusListView.as_view(), name="status_list"),
    path("statuses/new/", views.status_create, name="status_create"),
    path("statuses/<int:pk>/edit/", views.status_edit, name="status_edit"),
    path("statuses/<int:pk>/delete/", views.status_delete, name="status_delete"),
    path("template/", views.template_edit, name="template"),
    path("template/preview/", views.template_preview, name="template_preview"),
    path("view/<str:token>/", views.public_offer, name="public"),
    path("view/<str:token>/pdf/", views.public_offer_pdf, name="public_pdf"),
]
