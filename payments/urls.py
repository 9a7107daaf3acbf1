from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.PaymentListView.as_view(), name="payment_list"),
    path("failed/", views.FailedPaymentListView.as_view(), name="failed_list"),
    path("overdue-invoices/", views.OverdueInvoiceListView.as_view(), name="overdue_list"),
    path("transactions/", views.TransactionListView.as_view(), name="transaction_list"),
    path("new/", views.payment_create, name="payment_create"),
    path("<int:pk>/", views.payment_detail, name="payment_detail"),
    path("<int:pk>/allocate/", views.payment_allocate, name="payment_allocate"),
    path("<int:pk>/void/", views.payment_void, name="payment_void"),
    path("<int:pk>/refund/", views.refund_create, name="refund_create"),
    path("subscriptions/<int:pk>/upcoming/", views.upcoming_payment_create, name="upcoming_create"),
    path("accounts/<int:pk>/statement/", views.account_statement, name="statement"),
    path("accounts/<int:pk>/settings/", views.payment_settings_edit, name="payment_settings"),
    path("accounts/<int:pk>/card/", views.card_attach, name="card_attach"),
    path("methods/", views.PaymentMethodListView.as_view(), name="method_list"),
    path("methods/new/", views.method_create, name="method_create"),
    path("methods/<int:pk>/", views.method_edit, name="method_edit"),
    path("plans/", views.NotificationPlanListView.as_view(), name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plan-steps/<int:pk>/delete/", views.plan_step_delete, name="plan_step_delete"),
]
