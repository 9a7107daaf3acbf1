"""POST /api/v1/subscriptions/usage/: a batch of pay-per-use usage records.

A malformed record (missing field, a quantity that is no number) refuses the whole
batch with 400 and writes nothing; ``errors`` names ``records[i].field``. Otherwise the
records that pass are stored, duplicates (a key the subscription already has) are
ignored and counted, and records for a closed period or a subscription that is not
pay-per-use are refused with their row and reason; the answer counts each group.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from bss.core import api_views
from subscriptions.models import ChangeSource
from subscriptions.usage import MAX_BATCH, parse_usage_rows, usage_ingest


class UsageRecordInSerializer(serializers.Serializer):
    """Documentation of one record; parsing is done in bulk by ``subscriptions.usage``."""

    subscription = serializers.CharField(help_text="The subscription's id or number.")
    metric = serializers.CharField(max_length=100, help_text="Metric or product attribute.")
    quantity = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=0)
    unit = serializers.CharField(max_length=40, required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(help_text="ISO 8601; no offset = organization time.")
    idempotency_key = serializers.CharField(
        max_length=200, help_text="Unique per subscription; a repeat is ignored."
    )


class UsageBatchSerializer(serializers.Serializer):
    records = UsageRecordInSerializer(many=True, help_text=f"At most {MAX_BATCH} records.")


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Position of the record in the batch, from 0.")
    field = serializers.CharField()
    reason = serializers.CharField()


class UsageBatchResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    refused = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    duplicate_rows = serializers.ListField(child=serializers.IntegerField())


class UsageBatchView(api_views.APIView):
    """Record up to 10,000 usage records of pay-per-use subscriptions in one call."""

    permission_module = "subscriptions"
    permission_actions = {"POST": "record_usage"}

    @extend_schema(request=UsageBatchSerializer, responses={200: UsageBatchResultSerializer})
    def post(self, request: Request) -> Response:
        records = request.data.get("records") if isinstance(request.data, dict) else None
        if not isinstance(records, list):
            raise ValidationError({"records": ["Send a list of usage records."]})
        if not records:
            raise ValidationError({"records": ["The batch is empty."]})
        if len(records) > MAX_BATCH:
            raise ValidationError(
                {
                    "records": [
                        f"At most {MAX_BATCH} records per call; this batch has {len(records)}."
                    ]
                }
            )
        errors: dict[str, list[str]] = {}
        shaped: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(records):
            if not isinstance(item, dict):
                errors[f"records[{index}]"] = ["A record is a JSON object."]
            else:
                shaped.append((index, item))
        parsed, row_errors = parse_usage_rows(shaped)
        for error in row_errors:
            errors.setdefault(f"records[{error.row}].{error.field}", []).append(error.reason)
        if errors:
            raise ValidationError(errors)
        result = usage_ingest(actor=request.user, records=parsed, source=ChangeSource.API)
        return Response(result.as_dict())
