from django.urls import path

from subscriptions import views_assets

app_name = "assets"

urlpatterns = [
    path("", views_assets.AssetListView.as_view(), name="list"),
    path("<int:pk>/", views_assets.asset_detail, name="detail"),
    path("<int:pk>/edit/", views_assets.asset_edit, name="edit"),
    path("<int:pk>/pricing/", views_assets.asset_edit_pricing, name="edit_pricing"),
    path("<int:pk>/cancel/", views_assets.asset_cancel, name="cancel"),
]
