"""The Customers tiles of the dashboard."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from bss.core.dashboard import Panel, Tile, register_dashboard_panel
from bss.core.permissions import user_has_permission
from bss.core.visibility import visible_records


def customers_panel(request: HttpRequest) -> Panel | None:
    if not user_has_permission(request.user, "accounts", "view"):
        return None
    since = timezone.now() - timedelta(days=30)
    accounts = visible_records(Account.objects.all(), request.user)
    counts = accounts.aggregate(
        active=Count("pk", filter=Q(status=Account.Status.ACTIVE)),
        resellers=Count("pk", filter=Q(account_type=Account.Type.RESELLER)),
        new=Count("pk", filter=Q(created_at__gte=since)),
    )
    recent = accounts.select_related("parent").order_by("-created_at")[:8]
    list_url = reverse("accounts:list")
    return Panel(
        title=_("Newest accounts"),
        template="accounts/partials/dashboard_recent.html",
        context={"recent_accounts": recent},
        order=10,
        tiles=[
            Tile(
                _("Active accounts"),
                counts["active"],
                icon="buildings",
                url=list_url + "?status=active",
            ),
            Tile(
                _("Resellers"),
                counts["resellers"],
                icon="diagram-3",
                url=list_url + "?account_type=reseller",
            ),
            Tile(
                _("New in the last 30 days"),
                counts["new"],
                icon="person-plus",
                url=list_url + "?sort=-created_at",
            ),
        ],
    )


def register() -> None:
    register_dashboard_panel(customers_panel)
