"""Invoice API: read invoices and credit invoices, issue, void, download the PDF, credit.

The same services as the pages, and the same visibility: an invoice of an account the
user may not see is as absent as a missing one.
"""

from __future__ import annotations

import io
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors, services
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.pdf import invoice_pdf_bytes
from billing.serializers import CreditInvoiceCreateSerializer, InvoiceSerializer, IssueSerializer
from bss.core import api_views
from bss.core.api import VisibleQuerysetMixin


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)
    billing_account = django_filters.NumberFilter(field_name="billing_account_id")
    number = django_filters.CharFilter(lookup_expr="iexact")
    invoice_date = django_filters.DateFromToRangeFilter()
    overdue = django_filters.BooleanFilter(method="filter_overdue")

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(status=InvoiceStatus.OVERDUE) | Q(
            kind=InvoiceKind.DEBIT,
            status__in=[InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID],
            due_date__lt=timezone.localdate(),
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class _InvoiceReadMixin(VisibleQuerysetMixin):
    permission_module = "invoices"
    serializer_class = InvoiceSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = InvoiceFilter
    ordering_fields = ["invoice_date", "number", "due_date", "gross_total", "created_at"]
    kind: str | None = None

    def get_queryset(self) -> QuerySet[Invoice]:
        queryset = selectors.invoice_with_details().order_by("-invoice_date", "-pk")
        if self.kind is not None:
            queryset = queryset.filter(kind=self.kind)
        return self.visible(queryset)

    def _fresh(self, invoice: Invoice) -> Invoice:
        return selectors.invoice_with_details().get(pk=invoice.pk)


class InvoiceViewSet(
    _InvoiceReadMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """Debit and credit invoices with their lines and tax lines."""

    permission_actions = {"issue": "edit", "void": "delete", "pdf": "view"}
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=IssueSerializer, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str | None = None) -> Response:
        """Issue a draft: number, taxes, frozen details. A VIES outage answers 400 and holds it."""
        serializer = IssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_issue(
            actor=request.user,
            invoice=self.get_object(),
            invoice_date=serializer.validated_data.get("invoice_date"),
        )
        return Response(self.get_serializer(self._fresh(invoice)).data)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str | None = None) -> Response:
        """Void a draft; its charges wait for the next invoice."""
        invoice = services.invoice_void(actor=request.user, invoice=self.get_object())
        return Response(self.get_serializer(self._fresh(invoice)).data)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF.")
        }
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> Any:
        """The invoice as PDF (404 for a draft)."""
        invoice = self.get_object()
        content = invoice_pdf_bytes(invoice)
        if content is None:
            raise Http404("A draft has no PDF.")
        return FileResponse(
            io.BytesIO(content),
            content_type="application/pdf",
            as_attachment=True,
            filename=f"{invoice.number}.pdf",
        )


class CreditInvoiceViewSet(
    _InvoiceReadMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, api_views.GenericViewSet
):
    """Credit invoices; POST makes a manual one from lines of a debit invoice or its total."""

    kind = InvoiceKind.CREDIT
    permission_actions = {"create": "credit_manual"}
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return CreditInvoiceCreateSerializer
        return InvoiceSerializer

    @extend_schema(request=CreditInvoiceCreateSerializer, responses={201: InvoiceSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CreditInvoiceCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        debit_invoice: Invoice = data["debit_invoice"]
        lines = {line.pk: line for line in debit_invoice.lines.all()}
        items = []
        for position, item in enumerate(data.get("items", [])):
            line = lines.get(item["line"])
            if line is None:
                raise DRFValidationError(
                    {
                        "items": {
                            position: {"line": [f"Line {item['line']} is not on {debit_invoice}."]}
                        }
                    }
                )
            items.append(
                services.CreditItem(
                    line=line,
                    period_start=item.get("period_start"),
                    period_end=item.get("period_end"),
                    quantity=item.get("quantity"),
                    amount=item.get("amount"),
                )
            )
        # All or nothing: a credit that cannot be issued as asked leaves no draft behind.
        # (A VIES check may run inside this transaction; it locks only the new draft.)
        with transaction.atomic():
            credit = services.credit_invoice_create(
                actor=request.user,
                debit_invoice=debit_invoice,
                items=items,
                credit_whole=data["credit_whole"],
                invoice_date=data.get("invoice_date"),
                linked_invoice=data.get("linked_invoice"),
                notes=data["notes"],
            )
            if data["issue"]:
                credit = services.invoice_issue(actor=request.user, invoice=credit)
        return Response(
            InvoiceSerializer(self._fresh(credit), context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )
