"""Catalogue API: the same services as the pages, price lists through record visibility."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.visibility import visible_records
from catalogue import gsd, selectors, services
from catalogue.models import (
    Category,
    GsdRun,
    GsdRunStatus,
    Integration,
    PriceList,
    PriceListItem,
    Product,
    ProductKind,
    ProductStatus,
    ProductType,
)
from catalogue.pricing import quote_price
from catalogue.serializers import (
    CategorySerializer,
    PlanSerializer,
    PriceListCopySerializer,
    PriceListItemSerializer,
    PriceListSerializer,
    ProductSerializer,
    ProductTypeSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
)


def _created(serializer_class: Any, record: Any, context: dict[str, Any]) -> Response:
    return Response(serializer_class(record, context=context).data, status=status.HTTP_201_CREATED)


class CategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Storefront categories; a category that still holds products cannot be deleted."""

    permission_module = "products"
    serializer_class = CategorySerializer
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "position"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Category]:
        return Category.objects.order_by("position", "name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(actor=request.user, **serializer.validated_data)
        return _created(CategorySerializer, category, self.get_serializer_context())

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        category = self.get_object()
        serializer = self.get_serializer(category, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.category_update(actor=request.user, category=category, **serializer.validated_data)
        return Response(self.get_serializer(category).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.category_delete(actor=request.user, category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductTypeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """Product types: provisioning integration, tax code and customer-request policy."""

    permission_module = "products"
    serializer_class = ProductTypeSerializer
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "code"]
    ordering_fields = ["name", "code"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ProductType]:
        return ProductType.objects.order_by("name")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product_type = services.product_type_create(actor=request.user, **serializer.validated_data)
        return _created(ProductTypeSerializer, product_type, self.get_serializer_context())

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product_type = self.get_object()
        serializer = self.get_serializer(product_type, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.product_type_update(
            actor=request.user, product_type=product_type, **serializer.validated_data
        )
        return Response(self.get_serializer(product_type).data)


class ProductFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ProductKind.choices)
    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    product_type = django_filters.NumberFilter(field_name="product_type_id")
    category = django_filters.NumberFilter(field_name="category_id")
    currency = django_filters.CharFilter(method="priced_in", help_text="Priced in this currency.")

    class Meta:
        model = Product
        fields: list[str] = []

    def priced_in(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(plans__prices__currency=value.strip().upper()).distinct()


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Products with their billing plans and prices per currency."""

    permission_module = "products"
    permission_actions = {"add_plan": "edit", "retire": "edit", "reactivate": "edit"}
    serializer_class = ProductSerializer
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = ProductFilter
    search_fields = ["name", "code"]
    ordering_fields = ["name", "code", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Product]:
        return (
            selectors.product_with_pricing()
            .prefetch_related(Prefetch("primary_products", queryset=Product.objects.only("pk")))
            .order_by("name")
        )

    def _fresh(self, product: Product) -> Product:
        return self.get_queryset().get(pk=product.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(
            actor=request.user,
            primary_products=serializer.validated_data.get("primary_products", []),
            **serializer.product_fields(),
        )
        return _created(ProductSerializer, self._fresh(product), self.get_serializer_context())

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        serializer = self.get_serializer(product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.product_update(
            actor=request.user,
            product=product,
            primary_products=serializer.validated_data.get("primary_products"),
            **serializer.product_fields(),
        )
        return Response(self.get_serializer(self._fresh(product)).data)

    @extend_schema(request=PlanSerializer, responses={201: PlanSerializer})
    @action(detail=True, methods=["post"], url_path="plans")
    def add_plan(self, request: Request, pk: str | None = None) -> Response:
        """Add a billing plan with its prices per currency."""
        product = self.get_object()
        serializer = PlanSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        plan = services.plan_create(
            actor=request.user,
            product=product,
            prices=serializer.price_inputs(),
            **serializer.plan_fields(),
        )
        return _created(PlanSerializer, plan, self.get_serializer_context())

    @extend_schema(request=None, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        """Stop selling the product; existing subscriptions keep running."""
        product = services.product_retire(actor=request.user, product=self.get_object())
        return Response(self.get_serializer(self._fresh(product)).data)

    @extend_schema(request=None, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        product = services.product_reactivate(actor=request.user, product=self.get_object())
        return Response(self.get_serializer(self._fresh(product)).data)


class PriceListFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(lookup_expr="iexact")
    is_active = django_filters.BooleanFilter()
    is_default = django_filters.BooleanFilter()

    class Meta:
        model = PriceList
        fields: list[str] = []


class PriceListViewSet(
    VisibleQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Price lists the user may see, with their items."""

    permission_module = "price_lists"
    permission_actions = {"copy": "create"}
    serializer_class = PriceListSerializer
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = PriceListFilter
    search_fields = ["name"]
    ordering_fields = ["name", "currency", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[PriceList]:
        items = PriceListItem.objects.select_related("plan__product")
        return self.visible(
            PriceList.objects.prefetch_related(Prefetch("items", queryset=items)).order_by("name")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        price_list = services.price_list_create(actor=request.user, **serializer.list_fields())
        return _created(PriceListSerializer, price_list, self.get_serializer_context())

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        price_list = self.get_object()
        serializer = self.get_serializer(price_list, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.price_list_update(
            actor=request.user, price_list=price_list, **serializer.list_fields()
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=price_list.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.price_list_delete(actor=request.user, price_list=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=PriceListCopySerializer, responses={201: PriceListSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str | None = None) -> Response:
        """A new, non-default list with the same settings and items."""
        source = self.get_object()
        serializer = PriceListCopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        copy = services.price_list_copy(
            actor=request.user, price_list=source, name=serializer.validated_data["name"]
        )
        return _created(PriceListSerializer, copy, self.get_serializer_context())


class PriceListItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    api_views.GenericViewSet,
):
    """Items of the price lists the user may see; writing one needs edit access to its list.

    POST adds a plan to a list, or changes the plan's item if it is already there.
    """

    permission_module = "price_lists"
    permission_actions = {"create": "edit"}
    serializer_class = PriceListItemSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["price_list", "plan"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[PriceListItem]:
        access = "view" if self.request.method in SAFE_METHODS else "edit"
        lists = visible_records(PriceList.objects.all(), self.request.user, access)
        return (
            PriceListItem.objects.filter(price_list__in=lists)
            .select_related("plan__product")
            .order_by("price_list_id", "id")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.price_list_item_set(
            actor=request.user,
            price_list=serializer.validated_data["price_list"],
            plan=serializer.validated_data["plan"],
            **serializer.item_fields(),
        )
        return _created(PriceListItemSerializer, item, self.get_serializer_context())

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        current = dict(PriceListItemSerializer(item, context=self.get_serializer_context()).data)
        if request.data.get("method", item.method) != item.method:
            # Switching between a fixed price and a percent drops the other one.
            current.update(fixed_price=None, percent=None)
        data = {**current, **request.data, "price_list": item.price_list_id, "plan": item.plan_id}
        serializer = self.get_serializer(item, data=data)
        serializer.is_valid(raise_exception=True)
        item = services.price_list_item_set(
            actor=request.user,
            price_list=item.price_list,
            plan=item.plan,
            **serializer.item_fields(),
        )
        return Response(self.get_serializer(item).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.price_list_item_remove(actor=request.user, item=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class QuoteView(api_views.APIView):
    """The price of a line: list price, price lists, volume tiers and promotions applied.

    Reading a price changes nothing, so it needs only ``products.view``.
    """

    permission_module = "products"
    permission_actions = {"POST": "view"}

    @extend_schema(request=QuoteRequestSerializer, responses=QuoteSerializer)
    def post(self, request: Request) -> Response:
        serializer = QuoteRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        quote = quote_price(
            product=data["product"],
            plan=data["plan"],
            currency=data["currency"],
            quantity=data["quantity"],
            on_date=data.get("date") or timezone.localdate(),
            price_lists=data.get("price_lists", []),
            is_new_customer=data["is_new_customer"],
            owned_product_ids={product.pk for product in data.get("owned_products", [])},
            cycle_number=data["cycle_number"],
            ordered_on=data.get("ordered_on"),
        )
        return Response(QuoteSerializer(_as_strings(quote.as_dict())).data)


def _as_strings(data: dict[str, Any]) -> dict[str, Any]:
    """Decimals as their exact strings, so JPY stays "1141" and EUR keeps "48.00"."""

    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, list):
            return [convert(item) for item in value]
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        return value

    return convert(data)


# --------------------------------------------------------------------------------- GSD


class GsdRunSerializer(serializers.ModelSerializer):
    integration_code = serializers.CharField(source="integration.code", read_only=True)
    # Plain text rather than an enum: another "status" enum would collide in the schema.
    status = serializers.CharField(
        read_only=True, help_text="queued, running, completed or failed."
    )

    class Meta:
        model = GsdRun
        fields = [
            "id",
            "integration",
            "integration_code",
            "product_type_code",
            "status",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "total_items",
            "processed_items",
            "created_count",
            "updated_count",
            "skipped_count",
            "error_count",
            "failure_reason",
        ]
        read_only_fields = fields


class GsdRunDetailSerializer(GsdRunSerializer):
    class Meta(GsdRunSerializer.Meta):
        fields = [*GsdRunSerializer.Meta.fields, "log"]
        read_only_fields = fields


class GsdStartSerializer(serializers.Serializer):
    integration = serializers.PrimaryKeyRelatedField(
        queryset=Integration.objects.all(),
        required=False,
        help_text="Run the whole feed of this integration.",
    )
    product_type = serializers.PrimaryKeyRelatedField(
        queryset=ProductType.objects.all(),
        required=False,
        help_text="Run only this product type, from the integration it is linked to.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        product_type = attrs.get("product_type")
        if product_type is not None and "integration" not in attrs:
            integration = gsd.integration_of(product_type)
            if integration is None:
                raise serializers.ValidationError(
                    {
                        "product_type": f"{product_type.name} is not linked to a registered integration."
                    }
                )
            attrs["integration"] = integration
        if "integration" not in attrs:
            raise serializers.ValidationError("Give an integration or a product type.")
        return attrs


class GsdRunFilter(django_filters.FilterSet):
    integration = django_filters.NumberFilter(field_name="integration_id")
    status = django_filters.ChoiceFilter(choices=GsdRunStatus.choices)

    class Meta:
        model = GsdRun
        fields: list[str] = []


class GsdRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Get Services Definition runs: start one, then poll its status, counts and log.

    POST answers 202 with the run; the job runs in the background (at once when no broker
    is configured). A second run of an integration while one is queued or running is
    refused with 400.
    """

    permission_module = "products"
    permission_actions = {"create": "run_gsd"}
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = GsdRunFilter
    ordering_fields = ["created_at", "id"]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return GsdRunDetailSerializer
        if self.action == "create":
            return GsdStartSerializer
        return GsdRunSerializer

    def get_queryset(self) -> QuerySet[GsdRun]:
        queryset = GsdRun.objects.select_related("integration").order_by("-created_at", "-id")
        return queryset if self.action == "retrieve" else queryset.defer("log")

    @extend_schema(request=GsdStartSerializer, responses={202: GsdRunDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = GsdStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = gsd.gsd_start(
            actor=request.user,
            integration=serializer.validated_data["integration"],
            product_type=serializer.validated_data.get("product_type"),
        )
        run = GsdRun.objects.select_related("integration").get(pk=run.pk)
        return Response(GsdRunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)
