"""Reads of setup tools and their runs, limited to the tools a user may run."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from bss.core.tools import Tool, get_tool, tools_for
from bss.setup.models import ToolRun


def tools_by_section(user: Any) -> list[tuple[str, list[Tool]]]:
    tools = sorted(tools_for(user), key=lambda tool: (str(tool.section), tool.order))
    return [
        (section, list(group)) for section, group in groupby(tools, key=lambda t: str(t.section))
    ]


def runnable_tool(user: Any, code: str) -> Tool:
    tool = get_tool(code)
    if tool is None:
        raise Http404("No such tool.")
    if not tool.may_run(user):
        raise PermissionDenied(f"You may not run the tool {code!r}.")
    return tool


def runs_of(tool_codes: list[str]) -> QuerySet[ToolRun]:
    return (
        ToolRun.objects.filter(tool__in=tool_codes)
        .select_related("user")
        .defer("result_rows")
        .order_by("-created_at", "-pk")
    )


def visible_run(user: Any, run_id: int) -> tuple[ToolRun, Tool]:
    run = ToolRun.objects.select_related("user").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such tool run.")
    return run, runnable_tool(user, run.tool)


def described_parameters(tool: Tool, parameters: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of each parameter a run was given, under the form's own labels."""
    fields = tool.form_class().fields
    return [
        (str(fields[name].label) if name in fields else name, value)
        for name, value in parameters.items()
        if value not in (None, "", [])
    ]
