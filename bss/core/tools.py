"""The registry of setup tools: maintenance jobs an administrator runs from Setup > Tools.

Any app registers its tools in ``AppConfig.ready`` (``bss.core`` imports none of them):

    register_tool(
        code="subscriptions.quantity_report",
        title=_("Subscriptions - quantity change / cancellation report"),
        section=_("Other tools"),
        permission=("subscriptions", "view"),
        form_class=QuantityReportForm,
        run=quantity_report,
    )

``run(parameters, progress)`` receives the form's cleaned data and a ``Progress``; it
calls ``progress.start(total)`` once it knows how much work there is, ``progress.advance()``
as it goes, and returns ``(columns, rows)``: column headings and rows of plain values
(text, numbers, dates), which the tool page shows as a grid and exports to xlsx.
Setup runs it as a Celery job and keeps the parameters, progress and result in a log of
runs; running a tool needs ``setup.run_tools`` and the tool's own permission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django import forms

from bss.core.permissions import permission_code, user_has_permission


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self, done: int = 1) -> None: ...


ToolResult = tuple[Sequence[Any], Sequence[Sequence[Any]]]
ToolRunner = Callable[[dict[str, Any], Progress], ToolResult]


@dataclass(frozen=True)
class Tool:
    code: str
    title: Any
    section: Any
    permission: tuple[str, str]
    form_class: type[forms.Form]
    run: ToolRunner
    description: Any = ""
    order: int = 100

    def may_run(self, user: Any) -> bool:
        module, action = self.permission
        return user_has_permission(user, "setup", "run_tools") and user_has_permission(
            user, module, action
        )


_tools: dict[str, Tool] = {}


def register_tool(
    *,
    code: str,
    title: Any,
    section: Any,
    permission: tuple[str, str],
    form_class: type[forms.Form],
    run: ToolRunner,
    description: Any = "",
    order: int = 100,
) -> Tool:
    permission_code(*permission)
    tool = Tool(code, title, section, permission, form_class, run, description, order)
    existing = _tools.get(code)
    if existing is not None and existing.run is not run:
        raise ValueError(f"Another tool is already registered as {code!r}.")
    _tools[code] = tool
    return tool


def get_tool(code: str) -> Tool | None:
    return _tools.get(code)


def registered_tools() -> list[Tool]:
    return sorted(_tools.values(), key=lambda tool: (tool.order, str(tool.title)))


def tools_for(user: Any) -> list[Tool]:
    return [tool for tool in registered_tools() if tool.may_run(user)]
