"""Rendering notification templates in a sandbox.

A template is Django template language restricted to a few harmless tags and filters,
and every variable it names must be one of the merge fields its entity declares. The
check runs on save (a refused template names the problem) and again before each render.
The render context is built from declared merge fields only and holds plain values
(str, numbers, dates, booleans) in plain dicts: no model instance is ever in reach, so
even a check that missed something could not call ``delete`` or walk to other records.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Node, TokenType, Variable, VariableNode
from django.utils.translation import gettext as _

ALLOWED_TAGS = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "comment",
        "endcomment",
        "now",
        "spaceless",
        "endspaceless",
        "firstof",
        "autoescape",
        "endautoescape",
    }
)
ALLOWED_FILTERS = frozenset(
    {
        "add",
        "capfirst",
        "center",
        "cut",
        "date",
        "default",
        "default_if_none",
        "escape",
        "floatformat",
        "linebreaks",
        "linebreaksbr",
        "ljust",
        "lower",
        "rjust",
        "slice",
        "striptags",
        "time",
        "title",
        "truncatechars",
        "truncatewords",
        "upper",
        "urlencode",
        "wordwrap",
        "yesno",
    }
)

# Its own engine: no loaders (nothing to include or extend), no extra libraries to load.
_ENGINE = Engine(
    dirs=[],
    app_dirs=False,
    libraries={},
    loaders=[],
    autoescape=True,
    string_if_invalid="",
    debug=False,
)


class TemplateRefused(ValueError):
    """The template may not be saved or rendered; the message says why."""


def _tag_names(source: str) -> Iterator[tuple[str, int]]:
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            contents = token.split_contents()
            yield (contents[0] if contents else ""), token.lineno or 0


def _expressions_of(node: Node) -> Iterator[FilterExpression]:
    """The filter expressions a node evaluates (variables, tag arguments, if conditions)."""
    if isinstance(node, VariableNode):
        yield node.filter_expression
    for attribute in ("conditions_nodelists",):
        for condition, _nodelist in getattr(node, attribute, []) or []:
            yield from _condition_expressions(condition)
    for value in getattr(node, "vars", []) or []:  # firstof
        if isinstance(value, FilterExpression):
            yield value


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for part in ("first", "second"):
        yield from _condition_expressions(getattr(condition, part, None))


def _walk(nodes: Iterable[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        for attribute in node.child_nodelists:
            yield from _walk(getattr(node, attribute, None) or [])
        for _condition, nodelist in getattr(node, "conditions_nodelists", []) or []:
            yield from _walk(nodelist)


def _variables_of(expression: FilterExpression) -> Iterator[str]:
    """Dotted names of the variables an expression reads, its filter arguments included."""
    if isinstance(expression.var, Variable) and expression.var.lookups is not None:
        yield ".".join(expression.var.lookups)
    for _func, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable and isinstance(argument, Variable) and argument.lookups is not None:
                yield ".".join(argument.lookups)


def check_template(source: str, allowed_fields: Iterable[str], *, part: str = "") -> Template:
    """Parse ``source`` and refuse anything outside the sandbox; return the parsed template."""
    prefix = f"{part}: " if part else ""
    allowed = set(allowed_fields)
    for name, line in _tag_names(source):
        if name not in ALLOWED_TAGS:
            raise TemplateRefused(
                prefix
                + _("line %(line)s: the tag {%% %(tag)s %%} is not allowed in notifications.")
                % {"line": line, "tag": name}
            )
    try:
        template = Template(source, engine=_ENGINE)
    except TemplateSyntaxError as error:
        raise TemplateRefused(prefix + _("syntax error: %(error)s") % {"error": error}) from error
    for node in _walk(template.nodelist):
        for expression in _expressions_of(node):
            for func, _arguments in expression.filters:
                filter_name = getattr(func, "_filter_name", func.__name__)
                if filter_name not in ALLOWED_FILTERS:
                    raise TemplateRefused(
                        prefix
                        + _("the filter |%(filter)s is not allowed in notifications.")
                        % {"filter": filter_name}
                    )
            for name in _variables_of(expression):
                if name not in allowed:
                    raise TemplateRefused(
                        prefix
                        + _(
                            "{{ %(name)s }} is not a merge field of this entity; "
                            "use one of the fields listed next to the editor."
                        )
                        % {"name": name}
                    )
    return template


PLAIN_TYPES = (str, int, float, bool, type(None))


def nested_context(values: dict[str, Any]) -> dict[str, Any]:
    """Dotted merge-field codes as nested plain dicts: {"invoice": {"number": ...}}."""
    root: dict[str, Any] = {}
    for code, value in values.items():
        if not isinstance(value, (*PLAIN_TYPES, Decimal, datetime.date)):
            value = str(value)
        parts = code.split(".")
        target = root
        for part in parts[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = {}
                target[part] = existing
            target = existing
        if not isinstance(target.get(parts[-1]), dict):
            target[parts[-1]] = value
    return root


def render(source: str, values: dict[str, Any], *, autoescape: bool = True, part: str = "") -> str:
    template = check_template(source, values.keys(), part=part)
    return template.render(Context(nested_context(values), autoescape=autoescape))


def render_subject(source: str, values: dict[str, Any]) -> str:
    """A subject is plain text on one line."""
    text = render(source, values, autoescape=False, part=str(_("Subject")))
    return " ".join(text.split())[:300]
