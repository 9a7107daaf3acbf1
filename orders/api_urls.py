"""Orders endpoints under /api/v1/."""

from rest_framework.routers import SimpleRouter

from orders.api import OrderItemViewSet, OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("order-items", OrderItemViewSet, basename="order-item")

urlpatterns = router.urls
