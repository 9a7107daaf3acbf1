"""Billing run API: start a run (or a dry run) for a date, read its progress; generate an
account's invoices now. Same services and rights (invoices.run_billing) as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from billing import runs
from billing.models import BillingRun, BillingRunAccount
from bss.core import api_views
from bss.core.visibility import visible_records


class BillingRunAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = BillingRunAccount
        fields = ["account", "status", "error", "invoice_ids", "amounts"]


class BillingRunSerializer(serializers.ModelSerializer):
    failed_accounts = serializers.SerializerMethodField()

    class Meta:
        model = BillingRun
        fields = [
            "id",
            "run_date",
            "is_dry_run",
            "status",
            "requested_by",
            "started_at",
            "finished_at",
            "chunks_total",
            "accounts_total",
            "accounts_done",
            "accounts_failed",
            "invoices_count",
            "credit_invoices_count",
            "errors_count",
            "amounts",
            "error",
            "failed_accounts",
        ]
        read_only_fields = fields

    def get_failed_accounts(self, run: BillingRun) -> list[dict[str, Any]]:
        failed = run.accounts.filter(status=BillingRunAccount.Status.FAILED).order_by("account_id")
        return BillingRunAccountSerializer(failed[:200], many=True).data


class BillingRunStartSerializer(serializers.Serializer):
    run_date = serializers.DateField()
    dry_run = serializers.BooleanField(default=False)


class BillingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet):
    """Billing runs with their progress; POST starts one (a dry run writes nothing)."""

    permission_module = "invoices"
    permission_actions = {"list": "run_billing", "retrieve": "run_billing", "create": "run_billing"}
    serializer_class = BillingRunSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[BillingRun]:
        return BillingRun.objects.order_by("-pk")

    @extend_schema(request=BillingRunStartSerializer, responses={202: BillingRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = BillingRunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = runs.billing_run_start(
            actor=request.user,
            run_date=serializer.validated_data["run_date"],
            dry_run=serializer.validated_data["dry_run"],
        )
        run.refresh_from_db()
        return Response(BillingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class GenerateInvoicesSerializer(serializers.Serializer):
    up_to = serializers.DateField()
    subscription_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False
    )


class GeneratedInvoicesSerializer(serializers.Serializer):
    invoice_ids = serializers.ListField(child=serializers.IntegerField())
    numbers = serializers.ListField(child=serializers.CharField())
    held = serializers.ListField(child=serializers.CharField())


class AccountGenerateInvoicesView(api_views.APIView):
    """Invoice now what the account has due by ``up_to`` (optionally only some subscriptions)."""

    permission_module = "invoices"
    permission_actions = {"POST": "run_billing"}

    @extend_schema(request=GenerateInvoicesSerializer, responses=GeneratedInvoicesSerializer)
    def post(self, request: Request, pk: int) -> Response:
        account = visible_records(Account.objects.filter(pk=pk), request.user).first()
        if account is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        serializer = GenerateInvoicesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if account.billing_account_id:
            raise serializers.ValidationError(
                {"account": [f"{account.number} is billed through another account."]}
            )
        bill = runs.invoices_generate(
            actor=request.user,
            billing_account_id=account.pk,
            up_to=serializer.validated_data["up_to"],
            subscription_ids=serializer.validated_data.get("subscription_ids"),
        )
        return Response(
            {
                "invoice_ids": [invoice.pk for invoice in bill.invoices],
                "numbers": [invoice.number for invoice in bill.invoices],
                "held": bill.held,
            }
        )
