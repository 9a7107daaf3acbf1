"""The usage upload page: an xlsx or csv file of usage records, checked whole, then stored.

Every row is checked first (columns, values, the subscription, closed periods); any
problem is listed with its row, column and reason and nothing is stored. A clean file is
stored in one transaction; keys the subscriptions already have count as duplicates.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bss.core.permissions import requires
from catalogue.importing import read_table
from subscriptions.usage import (
    FIELDS,
    REQUIRED,
    IngestResult,
    RowError,
    UsageRejected,
    parse_usage_rows,
    usage_ingest,
)

MAX_ROWS = 100_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class UsageUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "xlsx or csv; first row: subscription, metric, quantity, unit, occurred_at, "
            "idempotency_key."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".xlsm", ".csv")):
            raise ValidationError(_("Upload an .xlsx or .csv file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 20 MB."))
        return upload


def _column_key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def check_upload(content: bytes, file_name: str) -> tuple[list[Any], list[RowError]]:
    """Parse a usage sheet into records, or the row errors that refuse it."""
    table = read_table(content, file_name, limit=MAX_ROWS + 1)
    keys = [_column_key(header) for header in table.headers]
    missing = [name for name in REQUIRED if name not in keys]
    if missing:
        return [], [
            RowError(1, name, _t("The sheet has no “%(column)s” column.") % {"column": name})
            for name in missing
        ]
    if len(table.rows) > MAX_ROWS:
        return [], [RowError(MAX_ROWS + 2, "", _t("At most %d rows per file.") % MAX_ROWS)]
    positions = {name: keys.index(name) for name in FIELDS if name in keys}
    shaped = [
        (
            number,
            {
                name: values[index] if index < len(values) else None
                for name, index in positions.items()
            },
        )
        for number, values in table.rows
    ]
    return parse_usage_rows(shaped)


@requires("subscriptions", "record_usage")
def usage_upload(request: HttpRequest) -> HttpResponse:
    form = UsageUploadForm(request.POST or None, request.FILES or None)
    errors: list[RowError] = []
    result: IngestResult | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            records, errors = check_upload(upload.read(), upload.name)
            if not errors and not records:
                form.add_error("file", _t("The file has no usage rows."))
            elif not errors:
                result = usage_ingest(
                    actor=request.user, records=records, source="upload", all_or_nothing=True
                )
        except UsageRejected as refused:
            errors = refused.errors
        except ValidationError as invalid:
            form.add_error("file", invalid.messages)
    return render(
        request,
        "subscriptions/usage_upload.html",
        {"form": form, "errors": errors[:500], "error_count": len(errors), "result": result},
    )
