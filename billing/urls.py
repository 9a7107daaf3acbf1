from django.urls import path

from billing import run_views, views

app_name = "billing"

urlpatterns = [
    path("invoices/", views.InvoiceListView.as_view(), name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("credit-invoices/new/", views.credit_create, name="credit_create"),
    path("runs/", run_views.run_list, name="run_list"),
    path("runs/start/", run_views.run_start, name="run_start"),
    path("runs/<int:pk>/", run_views.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", run_views.run_cancel, name="run_cancel"),
    path(
        "accounts/<int:pk>/generate-invoices/",
        run_views.account_generate,
        name="account_generate",
    ),
]
