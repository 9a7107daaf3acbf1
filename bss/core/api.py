"""REST API plumbing: declared module permissions, visibility, and JSON errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import exceptions, permissions

from bss.core.permissions import user_has_permission
from bss.core.visibility import visible_records

if TYPE_CHECKING:
    # rest_framework.views imports this module through DEFAULT_PERMISSION_CLASSES.
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "create",
    "PUT": "edit",
    "PATCH": "edit",
    "DELETE": "delete",
}
VIEWSET_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "create",
    "update": "edit",
    "partial_update": "edit",
    "destroy": "delete",
}


def required_action(view: APIView, request: Request) -> str | None:
    """The module action an API call needs; extra viewset actions declare theirs."""
    declared = getattr(view, "permission_actions", {})
    action = getattr(view, "action", None)
    if action and action in declared:
        return declared[action]
    if action:
        return VIEWSET_ACTIONS.get(action)
    return declared.get(request.method, METHOD_ACTIONS.get(request.method or ""))


class ModulePermission(permissions.BasePermission):
    """Every endpoint declares ``permission_module``; an endpoint that does not is closed."""

    message = "You do not have the right for this module and action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if getattr(view, "bss_public", False):
            return True
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        module = getattr(view, "permission_module", "")
        if module == "*":
            return True
        action = required_action(view, request)
        if not module or not action:
            return False
        return user_has_permission(request.user, module, action)


class VisibleQuerysetMixin:
    """API views read through the same visibility function as the pages."""

    request: Request

    def visible(self, queryset: QuerySet) -> QuerySet:
        access = "view" if self.request.method in permissions.SAFE_METHODS else "edit"
        if self.request.method == "DELETE":
            access = "delete"
        return visible_records(queryset, self.request.user, access)


def _as_field_errors(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {
            field: [str(message) for message in messages]
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors are JSON: ``{"detail": ..., "errors": {field: [messages]}}``."""
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_as_field_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = {"detail": _validation_summary(errors), "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": response.data["detail"], "errors": {}}
    return response


def _validation_summary(errors: dict[str, Any]) -> str:
    """One sentence for people reading logs; clients read ``errors`` field by field."""
    fields = [name for name in errors if name != "non_field_errors"]
    if fields:
        return f"The request has invalid fields: {', '.join(fields)}."
    messages = errors.get("non_field_errors") or []
    if len(messages) == 1:
        return str(messages[0])
    return "The request is invalid."
