from django.urls import path

from accounts.views import accounts, addresses, billing, contacts, documents, settings

app_name = "accounts"

urlpatterns = [
    path("", accounts.AccountListView.as_view(), name="list"),
    path("new/", accounts.account_create, name="create"),
    path("regions/", accounts.region_options, name="region_options"),
    path("settings/", settings.customer_settings_page, name="settings"),
    path("settings/file-space/", settings.user_file_quota, name="file_quota"),
    path("<int:pk>/", accounts.account_detail, name="detail"),
    path("<int:pk>/edit/", accounts.account_edit, name="edit"),
    path("<int:pk>/status/", accounts.account_status, name="status"),
    path("<int:pk>/delete/", accounts.account_delete, name="delete"),
    path(
        "<int:account_pk>/contacts/new/",
        contacts.account_contact_create,
        name="account_contact_create",
    ),
    path(
        "<int:account_pk>/addresses/new/", addresses.account_address_create, name="address_create"
    ),
    path(
        "<int:account_pk>/price-lists/assign/", billing.price_list_assign, name="price_list_assign"
    ),
    path("<int:account_pk>/rebates/new/", billing.rebate_create, name="rebate_create"),
    path("<int:account_pk>/documents/new/", documents.document_create, name="document_create"),
    path("contacts/", contacts.ContactListView.as_view(), name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_delete, name="contact_delete"),
    path("addresses/<int:pk>/edit/", addresses.address_edit, name="address_edit"),
    path("addresses/<int:pk>/delete/", addresses.address_remove, name="address_delete"),
    path("price-lists/<int:pk>/deassign/", billing.price_list_deassign, name="price_list_deassign"),
    path("rebates/<int:pk>/edit/", billing.rebate_edit, name="rebate_edit"),
    path("rebates/<int:pk>/delete/", billing.rebate_delete, name="rebate_delete"),
    path("documents/<int:pk>/", documents.document_detail, name="document_detail"),
    path("documents/<int:pk>/edit/", documents.document_edit, name="document_edit"),
    path("documents/<int:pk>/delete/", documents.document_remove, name="document_delete"),
    path("documents/<int:pk>/download/", documents.document_download, name="document_download"),
]
