"""Setup > Tools: the tools a user may run, a tool's page, a run with its progress and result."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _t

from bss.core.forms import apply_validation_error
from bss.core.permissions import requires
from bss.core.tools import tools_for
from bss.core.xlsx import stream_xlsx
from bss.setup.tools.selectors import (
    described_parameters,
    runnable_tool,
    runs_of,
    tools_by_section,
    visible_run,
)
from bss.setup.tools.services import tool_run_start

RUNS_PER_PAGE = 20
RESULT_ROWS_PER_PAGE = 50


@requires("setup", "run_tools")
def tool_list(request: HttpRequest) -> HttpResponse:
    tools = tools_for(request.user)
    titles = {tool.code: tool.title for tool in tools}
    recent = list(runs_of(list(titles))[:RUNS_PER_PAGE])
    return render(
        request,
        "setup/tools/list.html",
        {
            "sections": tools_by_section(request.user),
            "recent_runs": [(run, titles[run.tool]) for run in recent],
            "setup_page": True,
        },
    )


@requires("setup", "run_tools")
def tool_detail(request: HttpRequest, code: str) -> HttpResponse:
    tool = runnable_tool(request.user, code)
    form = tool.form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = tool_run_start(actor=request.user, tool_code=tool.code, data=request.POST)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect("setup:tool_run", pk=run.pk)
    runs = Paginator(runs_of([tool.code]), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    described = [(run, described_parameters(tool, run.parameters)) for run in runs]
    return render(
        request,
        "setup/tools/detail.html",
        {"tool": tool, "form": form, "runs": runs, "described_runs": described, "setup_page": True},
        status=400 if form.errors else 200,
    )


@requires("setup", "run_tools")
def tool_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run, tool = visible_run(request.user, pk)
    rows = Paginator(run.result_rows, RESULT_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "setup/tools/run.html",
        {
            "run": run,
            "tool": tool,
            "rows": rows,
            "parameters": described_parameters(tool, run.parameters),
            "setup_page": True,
        },
    )


@requires("setup", "run_tools")
def tool_run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar htmx polls every second; a finished run reloads the page for its result."""
    run, tool = visible_run(request.user, pk)
    response = render(request, "setup/tools/partials/run_status.html", {"run": run, "tool": tool})
    if run.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@requires("setup", "run_tools")
def tool_run_export(request: HttpRequest, pk: int) -> HttpResponse:
    run, tool = visible_run(request.user, pk)
    if not run.is_finished:
        messages.error(request, _t("The run has not finished yet."))
        return redirect("setup:tool_run", pk=run.pk)
    title = str(tool.title)
    return stream_xlsx(
        filename=f"{slugify(title) or 'tool'}-{run.pk}-{timezone.localdate():%Y%m%d}.xlsx",
        sheet_title=re.sub(r"[\[\]:*?/\\]", " ", title)[:31],
        headers=run.result_columns,
        rows=run.result_rows,
    )
