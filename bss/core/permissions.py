"""Module access rights: the catalogue of modules and actions, and how views declare them.

A role (group) grants permission codes such as ``"accounts.view"`` or
``"orders.execute"``. Every view and API endpoint declares the one code it needs; the
URL-walk test fails on any view that declares nothing. Record visibility (which rows a
user sees once the module is open to them) lives in ``bss.core.visibility``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

STANDARD_ACTIONS = ("view", "create", "edit", "delete")
ACTION_LABELS = {
    "view": _("View"),
    "create": _("Create"),
    "edit": _("Edit"),
    "delete": _("Delete"),
}


@dataclass(frozen=True)
class Module:
    code: str
    label: Any
    special_actions: dict[str, Any] = field(default_factory=dict)
    standard_actions: tuple[str, ...] = STANDARD_ACTIONS

    @property
    def actions(self) -> list[tuple[str, Any]]:
        standard = [(action, ACTION_LABELS[action]) for action in self.standard_actions]
        return standard + list(self.special_actions.items())


MODULES: dict[str, Module] = {
    module.code: module
    for module in [
        Module("accounts", _("Accounts"), {"override_credit_limit": _("Override credit limit")}),
        Module("contacts", _("Contacts")),
        Module("documents", _("Documents")),
        Module(
            "products",
            _("Products"),
            {"import": _("Import products"), "run_gsd": _("Get services definition")},
        ),
        Module("price_lists", _("Price lists")),
        Module("offers", _("Offers"), {"convert": _("Convert to order")}),
        Module(
            "orders",
            _("Orders"),
            {
                "execute": _("Execute order"),
                "deliver_partial": _("Deliver selected items"),
                "override_price": _("Override unit price"),
            },
        ),
        Module(
            "subscriptions",
            _("Subscriptions"),
            {
                "change_quantity": _("Change quantity"),
                "edit_pricing": _("Edit pricing"),
                "cancel": _("Cancel"),
                "upgrade": _("Upgrade or downgrade"),
                "suspend": _("Suspend and activate"),
                "backdate": _("Backdate operations"),
                "custom_refund": _("Refund nothing or a custom amount"),
                "price_protection": _("Turn price protection on and off"),
                "approve_requests": _("Approve customer requests"),
                "record_usage": _("Record usage"),
            },
        ),
        Module("assets", _("Assets"), {"edit_pricing": _("Edit pricing")}),
        Module(
            "invoices",
            _("Invoices"),
            {
                "credit_manual": _("Issue credit note"),
                "run_billing": _("Run billing"),
                "override_refund_policy": _("Override refund policy"),
            },
        ),
        Module("payments", _("Payments"), {"refund": _("Refund payment")}),
        Module("cases", _("Cases")),
        Module("notifications", _("Notifications"), {"manage": _("Manage notifications")}),
        Module("reports", _("Reports and dashboard"), standard_actions=("view",)),
        Module(
            "setup",
            _("Setup"),
            {
                "manage": _("Manage setup"),
                "run_tools": _("Run setup tools"),
                "audit": _("Read log records"),
            },
            standard_actions=("view",),
        ),
        Module("users", _("Users and groups")),
    ]
}


def all_permission_codes() -> list[str]:
    return [
        f"{module.code}.{action}"
        for module in MODULES.values()
        for action, _label in module.actions
    ]


def permission_code(module: str, action: str) -> str:
    code = f"{module}.{action}"
    if module not in MODULES or action not in dict(MODULES[module].actions):
        raise ValueError(f"Unknown permission {code!r}: declare it in bss.core.permissions.MODULES")
    return code


def user_has_permission(user: Any, module: str, action: str) -> bool:
    """The single answer to "may this user do this action in this module"."""
    code = permission_code(module, action)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if module in (user.restricted_modules or []):
        return False
    return code in user.permission_codes()


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def redirect_to_login(next_url: str) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login as django_redirect_to_login

    return django_redirect_to_login(next_url)


def requires(module: str, action: str) -> Callable[[ViewFunc], ViewFunc]:
    """Declare and enforce the permission a function-based view needs.

    Anonymous users are sent to login; signed-in users without the right get 403.
    """
    permission_code(module, action)

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_permission(request.user, module, action):
                raise PermissionDenied(f"You need the permission {module}.{action}.")
            return view(request, *args, **kwargs)

        wrapper.bss_permission = (module, action)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def login_only(view: ViewFunc) -> ViewFunc:
    """A page every signed-in user may open (dashboard, own profile, global search)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.bss_permission = ("*", "authenticated")  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def public(view: ViewFunc) -> ViewFunc:
    """Mark a view as deliberately open to anonymous visitors (health check, share links)."""
    view.bss_public = True  # type: ignore[attr-defined]
    return view


class ModuleRequiredMixin:
    """Class-based views declare ``permission_module`` and ``permission_action``."""

    permission_module: str = ""
    permission_action: str = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.permission_module or not self.permission_action:
            raise PermissionDenied("This view declares no permission.")
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_has_permission(request.user, self.permission_module, self.permission_action):
            raise PermissionDenied(
                f"You need the permission {self.permission_module}.{self.permission_action}."
            )
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


def declared_permission(callback: Any) -> tuple[str, str] | str | None:
    """What a resolved URL callback declares: (module, action), "public", or None."""
    if getattr(callback, "bss_public", False):
        return "public"
    if hasattr(callback, "bss_permission"):
        return callback.bss_permission
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        if getattr(view_class, "bss_public", False):
            return "public"
        module = getattr(view_class, "permission_module", "")
        action = getattr(view_class, "permission_action", "") or "per-action"
        if module:
            return (module, action)
    return None
