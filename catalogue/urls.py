from django.urls import path

from catalogue import views

app_name = "catalogue"

urlpatterns = [
    path("", views.ProductListView.as_view(), name="product_list"),
    path("new/", views.product_create, name="product_create"),
    path("<int:pk>/", views.product_detail, name="product_detail"),
    path("<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("<int:pk>/retire/", views.product_retire, name="product_retire"),
    path("<int:pk>/reactivate/", views.product_reactivate, name="product_reactivate"),
    path("<int:pk>/plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="plan_delete"),
    path("<int:pk>/relations/add/", views.relation_add, name="relation_add"),
    path(
        "<int:pk>/relations/<str:kind>/<int:relation_pk>/remove/",
        views.relation_remove,
        name="relation_remove",
    ),
    path("<int:pk>/components/add/", views.component_add, name="component_add"),
    path("components/<int:pk>/remove/", views.component_remove, name="component_remove"),
    path("import/", views.import_upload, name="import_upload"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/columns/", views.import_mapping, name="import_mapping"),
    path("categories/", views.CategoryListView.as_view(), name="category_list"),
    path("categories/new/", views.category_create, name="category_create"),
    path("categories/<int:pk>/edit/", views.category_edit, name="category_edit"),
    path("categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
    path("types/", views.ProductTypeListView.as_view(), name="product_type_list"),
    path("types/new/", views.product_type_create, name="product_type_create"),
    path("types/<int:pk>/edit/", views.product_type_edit, name="product_type_edit"),
    path("types/<int:pk>/delete/", views.product_type_delete, name="product_type_delete"),
    path("groups/", views.ProductGroupListView.as_view(), name="group_list"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/delete/", views.group_delete, name="group_delete"),
    path("volume-discounts/", views.VolumeDiscountListView.as_view(), name="volume_discount_list"),
    path("volume-discounts/new/", views.volume_discount_create, name="volume_discount_create"),
    path(
        "volume-discounts/<int:pk>/edit/",
        views.volume_discount_edit,
        name="volume_discount_edit",
    ),
    path(
        "volume-discounts/<int:pk>/delete/",
        views.volume_discount_delete,
        name="volume_discount_delete",
    ),
    path("promotions/", views.PromotionListView.as_view(), name="promotion_list"),
    path("promotions/new/", views.promotion_create, name="promotion_create"),
    path("promotions/<int:pk>/edit/", views.promotion_edit, name="promotion_edit"),
    path("promotions/<int:pk>/delete/", views.promotion_delete, name="promotion_delete"),
    path("price-lists/", views.PriceListListView.as_view(), name="price_list_list"),
    path("price-lists/new/", views.price_list_create, name="price_list_create"),
    path("price-lists/<int:pk>/", views.price_list_detail, name="price_list_detail"),
    path("price-lists/<int:pk>/edit/", views.price_list_edit, name="price_list_edit"),
    path("price-lists/<int:pk>/delete/", views.price_list_delete, name="price_list_delete"),
    path("price-lists/<int:pk>/copy/", views.price_list_copy, name="price_list_copy"),
    path("price-lists/<int:pk>/items/add/", views.price_list_item_add, name="price_list_item_add"),
    path(
        "price-lists/items/<int:pk>/edit/", views.price_list_item_edit, name="price_list_item_edit"
    ),
    path(
        "price-lists/items/<int:pk>/remove/",
        views.price_list_item_remove,
        name="price_list_item_remove",
    ),
]
