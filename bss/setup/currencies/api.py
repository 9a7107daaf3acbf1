"""API of currencies and exchange rates, with rate lookup and conversion by date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from bss.core import api_views
from bss.setup.currencies import services
from bss.setup.currencies.selectors import ExchangeRateMissing, convert, rate_on
from bss.setup.models import Currency, ExchangeRate
from bss.setup.organization.api import SETUP_PERMISSION_ACTIONS
from bss.setup.organization.selectors import home_currency_code


class CurrencySerializer(serializers.ModelSerializer):
    minor_units = serializers.IntegerField(read_only=True)
    is_home = serializers.SerializerMethodField()

    class Meta:
        model = Currency
        fields = ["code", "name", "culture", "is_active", "minor_units", "is_home"]
        extra_kwargs: dict[str, Any] = {
            "code": {"help_text": "ISO 4217 code, e.g. USD; fixed once created."},
            "name": {"required": False, "help_text": "Defaults to the standard English name."},
            "culture": {"required": False},
        }

    def get_is_home(self, currency: Currency) -> bool:
        return currency.code == self.context.get("home_currency")


class ExchangeRateSerializer(serializers.ModelSerializer):
    currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "valid_from", "rate", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs: dict[str, Any] = {
            "rate": {"help_text": "Units of the home currency one unit of this currency is worth."}
        }


def _day(request: Request, name: str = "date") -> date:
    raw = request.query_params.get(name)
    if not raw:
        return timezone.localdate()
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise exceptions.ValidationError({name: ["Use the format YYYY-MM-DD."]}) from error


class CurrencyFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Currency
        fields: list[str] = []


class CurrencyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Currencies of the organization; only active ones can be used on records."""

    permission_module = "setup"
    permission_actions = {**SETUP_PERMISSION_ACTIONS, "rate": "view", "convert": "view"}
    serializer_class = CurrencySerializer
    lookup_field = "code"
    filter_backends = [DjangoFilterBackend]
    filterset_class = CurrencyFilter
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Currency]:
        # Organization settings, not owned records: setup.view opens them all.
        return Currency.objects.order_by("code")

    def get_object(self) -> Currency:
        self.kwargs[self.lookup_field] = self.kwargs[self.lookup_field].upper()
        return super().get_object()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "home_currency": home_currency_code()}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        currency = services.currency_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(currency).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        currency = self.get_object()
        serializer = self.get_serializer(
            currency, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if fields.pop("code", currency.code).upper() != currency.code:
            raise exceptions.ValidationError({"code": ["A currency's code cannot change."]})
        currency = services.currency_update(actor=request.user, currency=currency, **fields)
        return Response(self.get_serializer(currency).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        parameters=[OpenApiParameter("date", OpenApiTypes.DATE, description="Defaults to today.")],
        responses=inline_serializer(
            "ExchangeRateOnDay",
            {
                "currency": serializers.CharField(),
                "home_currency": serializers.CharField(),
                "date": serializers.DateField(),
                "rate": serializers.DecimalField(max_digits=20, decimal_places=8),
            },
        ),
    )
    @action(detail=True, methods=["get"])
    def rate(self, request: Request, code: str) -> Response:
        """The rate to the home currency valid on a date (the newest one starting on or before it)."""
        currency = self.get_object()
        day = _day(request)
        try:
            rate = rate_on(currency.code, day)
        except ExchangeRateMissing as error:
            raise exceptions.NotFound(str(error)) from error
        return Response(
            {
                "currency": currency.code,
                "home_currency": home_currency_code(),
                "date": day.isoformat(),
                "rate": str(rate),
            }
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("amount", OpenApiTypes.DECIMAL, required=True),
            OpenApiParameter("from", OpenApiTypes.STR, required=True),
            OpenApiParameter("to", OpenApiTypes.STR, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, description="Defaults to today."),
        ],
        responses=inline_serializer(
            "ConvertedAmount",
            {
                "amount": serializers.DecimalField(max_digits=30, decimal_places=8),
                "currency": serializers.CharField(),
                "date": serializers.DateField(),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def convert(self, request: Request) -> Response:
        """An amount converted through the home currency at the rates of a date, rounded once."""
        params = request.query_params
        try:
            amount = Decimal(params.get("amount", ""))
        except ArithmeticError as error:
            raise exceptions.ValidationError({"amount": ["Enter a decimal amount."]}) from error
        if not amount.is_finite():
            raise exceptions.ValidationError({"amount": ["Enter a decimal amount."]})
        codes = {name: (params.get(name) or "").upper() for name in ("from", "to")}
        known = set(Currency.objects.filter(code__in=codes.values()).values_list("code", flat=True))
        unknown = {name: ["Unknown currency."] for name, code in codes.items() if code not in known}
        if unknown:
            raise exceptions.ValidationError(unknown)
        day = _day(request)
        try:
            converted = convert(amount, codes["from"], codes["to"], day)
        except ExchangeRateMissing as error:
            raise exceptions.NotFound(str(error)) from error
        return Response(
            {"amount": str(converted), "currency": codes["to"], "date": day.isoformat()}
        )


class ExchangeRateFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(field_name="currency__code", lookup_expr="iexact")
    valid_from = django_filters.DateFromToRangeFilter()

    class Meta:
        model = ExchangeRate
        fields: list[str] = []


class ExchangeRateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """Exchange rates to the home currency, each valid from a date until the next one."""

    permission_module = "setup"
    permission_actions = SETUP_PERMISSION_ACTIONS
    serializer_class = ExchangeRateSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExchangeRateFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return ExchangeRate.objects.select_related("currency").order_by(
            "currency__code", "-valid_from"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add a rate; a rate for the same currency and day replaces the earlier one."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exchange_rate = services.exchange_rate_set(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(exchange_rate).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Correct a rate; its currency and start date stay."""
        exchange_rate = self.get_object()
        serializer = self.get_serializer(exchange_rate, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if ("currency" in data and data["currency"] != exchange_rate.currency) or (
            "valid_from" in data and data["valid_from"] != exchange_rate.valid_from
        ):
            raise exceptions.ValidationError(
                {"valid_from": ["Add a new rate instead of moving one to another currency or day."]}
            )
        exchange_rate = services.exchange_rate_set(
            actor=request.user,
            currency=exchange_rate.currency,
            valid_from=exchange_rate.valid_from,
            rate=data.get("rate", exchange_rate.rate),
        )
        return Response(self.get_serializer(exchange_rate).data)


router = SimpleRouter()
router.register("currencies", CurrencyViewSet, basename="currency")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
urlpatterns = router.urls
