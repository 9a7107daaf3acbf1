"""The "Pending cancellation requests" queue: customer requests waiting for a person."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from bss.core.dashboard import Panel, Tile
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import get_visible_or_404, visible_records
from subscriptions import requests as customer_requests
from subscriptions.forms_lifecycle import RequestDecisionForm
from subscriptions.models import CustomerRequest, CustomerRequestStatus
from subscriptions.services import RefundChoice, cancellation_preview

ACTIONS_KEY = "actions"
PANEL_ROWS = 10


def _decide_link(record: CustomerRequest) -> str:
    return format_html(
        '<a class="btn btn-sm btn-outline-primary" href="{}">{}</a>',
        reverse("lifecycle:request_decide", kwargs={"pk": record.pk}),
        _t("Approve or reject"),
    )


class RequestQueueView(RecordListView):
    model = CustomerRequest
    permission_module = "subscriptions"
    permission_action = "approve_requests"
    title = _("Pending cancellation requests")
    search_fields = ("subscription__number", "subscription__account__name")
    search_placeholder = _("Subscription or account")
    default_sort = "created_at"
    columns = [
        Column("created_at", _("Requested"), sort="created_at"),
        Column("subscription.account.name", _("Account"), sort="subscription__account__name"),
        Column("subscription.number", _("Subscription"), sort="subscription__number"),
        Column("subscription.product.name", _("Product")),
        Column("get_kind_display", _("Request"), sort="kind"),
        Column("timing", _("When")),
        Column("amount", _("Refund by policy"), sort="amount", css="text-end"),
        Column("effective_date", _("Effective date"), sort="effective_date"),
        Column("reason", _("Reason")),
        Column(ACTIONS_KEY, "", css="text-end", value=_decide_link),
    ]

    def base_queryset(self) -> Any:
        return customer_requests.pending_requests()

    def export_columns(self) -> list[Column]:
        return [column for column in super().export_columns() if column.key != ACTIONS_KEY]


@require_http_methods(["GET", "POST"])
@requires("subscriptions", "approve_requests")
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_visible_or_404(
        CustomerRequest.objects.select_related(
            "subscription__account", "subscription__product__product_type", "target_product"
        ),
        request.user,
        "edit",
        pk=pk,
    )
    may_choose_refund = user_has_permission(request.user, "subscriptions", "custom_refund")
    is_cancel = record.kind in customer_requests.CANCEL_KINDS
    form = RequestDecisionForm(
        request.POST or None,
        initial={"timing": record.timing, "cancel_date": record.requested_date},
        may_choose_refund=may_choose_refund,
        is_cancel=is_cancel,
    )
    preview = None
    preview_error = ""
    if is_cancel and record.status == CustomerRequestStatus.PENDING:
        try:
            preview = cancellation_preview(
                record.subscription,
                timing=record.timing or "end_of_period",
                cancel_date=record.requested_date,
            )
        except ValidationError as error:
            preview_error = " ".join(error.messages)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("approve", "reject"):
            form.add_error(None, _t("Choose approve or reject."))
        elif form.is_valid():
            data = form.cleaned_data
            try:
                if decision == "reject":
                    customer_requests.customer_request_reject(
                        actor=request.user, request=record, reason=data.get("note", "")
                    )
                    messages.success(request, _t("Request rejected."))
                else:
                    customer_requests.customer_request_approve(
                        actor=request.user,
                        request=record,
                        timing=(data.get("timing") or None) if is_cancel else None,
                        cancel_date=data.get("cancel_date"),
                        refund=data.get("refund") or RefundChoice.POLICY,
                        custom_refund=data.get("custom_refund"),
                    )
                    messages.success(request, _t("Request approved and carried out."))
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                return redirect("lifecycle:request_queue")
    return render(
        request,
        "subscriptions/requests/decide.html",
        {
            "record": record,
            "form": form,
            "preview": preview,
            "preview_error": preview_error,
            "is_cancel": is_cancel,
        },
        status=400 if form.errors else 200,
    )


def pending_requests_panel(request: HttpRequest) -> Panel | None:
    """Dashboard: "Pending subscription cancellation requests" for those who decide them."""
    if not user_has_permission(request.user, "subscriptions", "approve_requests"):
        return None
    pending = visible_records(customer_requests.pending_requests(), request.user)
    rows = list(pending.order_by("created_at", "pk")[:PANEL_ROWS])
    count = len(rows) if len(rows) < PANEL_ROWS else pending.count()
    queue_url = reverse("lifecycle:request_queue")
    return Panel(
        title=_("Pending subscription cancellation requests"),
        template="subscriptions/requests/dashboard_panel.html",
        context={"pending_requests": rows, "queue_url": queue_url, "count": count},
        order=30,
        tiles=[Tile(_("Pending cancellation requests"), count, icon="x-octagon", url=queue_url)],
    )
