"""Spreadsheet export shared by every list, report and setup tool."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_xlsx(
    target: Any, *, sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write rows in openpyxl's write-only mode, so memory stays flat for large lists."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title or "Export")
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append(list(row))
    workbook.save(target)


def stream_xlsx(
    *, filename: str, sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> FileResponse:
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - handed to FileResponse, which closes it
    write_xlsx(spooled, sheet_title=sheet_title, headers=headers, rows=rows)
    spooled.seek(0)
    return FileResponse(
        spooled, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )
