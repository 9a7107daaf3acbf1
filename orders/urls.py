from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.OrderListView.as_view(), name="list"),
    path("new/", views.order_create, name="create"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/edit/", views.order_edit, name="edit"),
    path("<int:pk>/delete/", views.order_delete, name="delete"),
    path("<int:pk>/items/new/", views.order_item_add, name="item_add"),
    path("<int:pk>/status/", views.order_status_change, name="status_change"),
    path("<int:pk>/cancel/", views.order_cancel, name="cancel"),
    path("<int:pk>/execute/", views.order_execute, name="execute"),
    path("<int:pk>/deliver/", views.order_deliver, name="deliver"),
    path("items/<int:pk>/edit/", views.order_item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.order_item_remove, name="item_remove"),
    path("statuses/", views.OrderStatusListView.as_view(), name="status_list"),
    path("statuses/new/", views.status_create, name="status_create"),
    path("statuses/<int:pk>/edit/", views.status_edit, name="status_edit"),
    path("statuses/<int:pk>/delete/", views.status_delete, name="status_delete"),
]
