"""Trial API (spec 4.4): start a trial, and POSTs on a trial to extend, upgrade or end it.

``POST /api/v1/subscriptions/trials/`` starts one (the trial page's right,
subscriptions.create, and edit access to the account). The operations on one trial are
POSTs on the subscription, with the rights of the trial pages: extend and upgrade need
subscriptions.edit, ending a trial early is a cancellation (subscriptions.cancel).
``upgrade-trial-preview`` takes the same body as ``upgrade-trial`` and answers the
amounts the upgrade would charge, writing nothing. A refusal answers 400 with the field it concerns.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin
from bss.core.money import quantize
from bss.core.permissions import user_has_permission
from bss.core.visibility import visible_records
from catalogue.models import ProductPlan
from subscriptions import trials
from subscriptions.models import ChangeSource, Subscription
from subscriptions.serializers import OperationSerializer, SubscriptionSerializer

# ----------------------------------------------------------------------------- shapes


class TrialStartSerializer(serializers.Serializer):
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(), help_text="An account you may edit."
    )
    plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product"),
        help_text="A plan with a trial; it names the product.",
    )
    product = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional check: the product the plan must belong to.",
    )
    quantity = serializers.IntegerField(min_value=1, default=1)
    start_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Empty = today; a day before today needs subscriptions.backdate.",
    )
    friendly_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="For an add-on trial: the subscription of the same account it belongs to.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = self._user()
        if user is not None:
            # Accounts the user may not edit do not exist for this call, as on the page.
            self.fields["account"].queryset = visible_records(Account.objects.all(), user, "edit")

    def _user(self) -> Any:
        return getattr(self.context.get("request"), "user", None)

    def validate_start_date(self, value: Any) -> Any:
        if value is None:
            return timezone.localdate()
        if value < timezone.localdate() and not user_has_permission(
            self._user(), "subscriptions", "backdate"
        ):
            raise serializers.ValidationError(_("You may not start a trial in the past."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        plan = attrs["plan"]
        if attrs.get("product") is not None and attrs["product"] != plan.product_id:
            raise serializers.ValidationError(
                {"plan": _("The plan is not a plan of the product given.")}
            )
        parent = attrs.get("parent")
        if parent is not None and parent.account_id != attrs["account"].pk:
            raise serializers.ValidationError(
                {"parent": _("An add-on belongs to a subscription of the same account.")}
            )
        return attrs


class TrialExtendSerializer(OperationSerializer):
    new_end = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The new (exclusive) trial end, like the subscription's trial_end.",
    )
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=3650,
        help_text="Or: extend the current trial end by this many days.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs["new_end"] is None) == (attrs["days"] is None):
            raise serializers.ValidationError(
                {"new_end": _("Send either the new trial end or a number of days.")}
            )
        return attrs


class TrialUpgradeSerializer(OperationSerializer):
    quantity = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="Empty = as now."
    )
    plan = serializers.PrimaryKeyRelatedField(
        queryset=ProductPlan.objects.select_related("product"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Another recurring plan of the same product; empty = the trial's plan.",
    )
    friendly_name = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None
    )


class TrialUpgradePreviewSerializer(serializers.Serializer):
    """What the upgrade would charge, before tax; amounts rounded to the currency."""

    quantity = serializers.IntegerField()
    plan = serializers.IntegerField()
    currency = serializers.CharField()
    unit_price = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive.")
    first_period_amount = serializers.CharField()
    first_period_discount = serializers.CharField()
    first_period_net = serializers.CharField()
    setup_fee = serializers.CharField(help_text="Per unit.")
    setup_fee_total = serializers.CharField()
    total = serializers.CharField()
    term_end = serializers.DateField(help_text="Exclusive.")


class TrialEndSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def _upgrade_preview(quote: trials.TrialUpgradeQuote) -> dict[str, Any]:
    currency = quote.currency
    terms = quote.terms
    first = quote.first_period
    return TrialUpgradePreviewSerializer(
        {
            "quantity": terms.quantity,
            "plan": terms.plan.pk,
            "currency": currency,
            "unit_price": str(terms.unit_price),
            "period_start": terms.period.start,
            "period_end": terms.period.end,
            "first_period_amount": str(quantize(first.amount, currency)),
            "first_period_discount": str(quantize(first.discount, currency)),
            "first_period_net": str(quantize(first.net, currency)),
            "setup_fee": str(terms.setup_fee),
            "setup_fee_total": str(quantize(quote.setup_fee_total, currency)),
            "total": str(quantize(quote.total, currency)),
            "term_end": terms.term_end,
        }
    ).data


def _answer(subscription: Subscription, request: Request, code: int = 200) -> Response:
    fresh = Subscription.objects.select_related("account", "product").get(pk=subscription.pk)
    return Response(SubscriptionSerializer(fresh, context={"request": request}).data, status=code)


# ------------------------------------------------------------------------------ views


class TrialStartView(api_views.APIView):
    """Start a free trial of a plan for an account."""

    permission_module = "subscriptions"
    permission_actions = {"POST": "create"}

    @extend_schema(request=TrialStartSerializer, responses={201: SubscriptionSerializer})
    def post(self, request: Request) -> Response:
        serializer = TrialStartSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = data["plan"]
        subscription = trials.trial_create(
            actor=request.user,
            account=data["account"],
            product=plan.product,
            plan=plan,
            quantity=data["quantity"],
            start_date=data["start_date"],
            friendly_name=data["friendly_name"],
            parent=data["parent"],
            source=ChangeSource.API,
        )
        return _answer(subscription, request, status.HTTP_201_CREATED)


class TrialOperationsViewSet(VisibleQuerysetMixin, api_views.GenericViewSet):
    """The trial operations, each a POST on the subscription (a trial, or 400 on status)."""

    permission_module = "subscriptions"
    permission_actions = {
        "extend_trial": "edit",
        "upgrade_trial": "edit",
        "upgrade_trial_preview": "edit",
        "end_trial": "cancel",
    }
    serializer_class = SubscriptionSerializer
    http_method_names = ["post", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return self.visible(
            Subscription.objects.select_related("account", "product", "plan").order_by("pk")
        )

    @extend_schema(request=TrialExtendSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="extend-trial")
    def extend_trial(self, request: Request, pk: str | None = None) -> Response:
        """Move the trial end later: a new (exclusive) end, or a number of days more."""
        subscription = self.get_object()
        data = self.validated_body(TrialExtendSerializer)
        trials.trial_extend(
            actor=request.user,
            subscription=subscription,
            new_end=data["new_end"],
            days=data["days"],
            effective_at=data["effective_at"],
            source=ChangeSource.API,
        )
        return _answer(subscription, request)

    @extend_schema(request=TrialUpgradeSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="upgrade-trial")
    def upgrade_trial(self, request: Request, pk: str | None = None) -> Response:
        """Upgrade the trial to paid from today (or ``effective_at``): the first period is
        charged pro rata, with the setup fee once; ``upgrade-trial-preview`` shows the sums."""
        subscription = self.get_object()
        data = self.validated_body(TrialUpgradeSerializer)
        trials.trial_upgrade_to_paid(
            actor=request.user,
            subscription=subscription,
            quantity=data["quantity"] or subscription.quantity,
            plan=data["plan"],
            friendly_name=data["friendly_name"],
            effective_at=data["effective_at"],
            source=ChangeSource.API,
        )
        return _answer(subscription, request)

    @extend_schema(request=TrialUpgradeSerializer, responses=TrialUpgradePreviewSerializer)
    @action(detail=True, methods=["post"], url_path="upgrade-trial-preview")
    def upgrade_trial_preview(self, request: Request, pk: str | None = None) -> Response:
        """The amounts ``upgrade-trial`` with the same body would charge; writes nothing."""
        subscription = self.get_object()
        data = self.validated_body(TrialUpgradeSerializer)
        at = data["effective_at"] or timezone.now()
        quote = trials.trial_upgrade_quote(
            subscription,
            quantity=data["quantity"] or subscription.quantity,
            plan=data["plan"],
            on=timezone.localdate(at),
        )
        return Response(_upgrade_preview(quote))

    @extend_schema(request=TrialEndSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="end-trial")
    def end_trial(self, request: Request, pk: str | None = None) -> Response:
        """End the trial today: canceled, nothing charged, its add-ons with it."""
        subscription = self.get_object()
        data = self.validated_body(TrialEndSerializer)
        trials.trial_end_now(
            actor=request.user,
            subscription=subscription,
            reason=data["reason"],
            source=ChangeSource.API,
        )
        return _answer(subscription, request)
