"""Order pages: list, create, the order with its items and totals, execution, statuses setup."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import Account
from bss.core.audit import audit_trail
from bss.core.dashboard import Panel
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.money import format_money
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import can_access, get_visible_or_404
from bss.setup.fields.selectors import custom_field_sections
from bss.setup.fields.values import account_context_of
from orders import execution, selectors, services, statuses
from orders.forms import ExecuteForm, OrderForm, OrderItemForm, OrderStatusForm, StatusChangeForm
from orders.models import DeliveryStatus, Order, OrderItem, OrderStatus
from orders.totals import compute_totals


def ui_locale() -> str:
    return translation.to_locale(translation.get_language() or "en")


def money_column(field: str) -> Any:
    def shown(record: Any) -> str:
        return format_money(getattr(record, field), record.currency, ui_locale())

    return shown


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ModelChoiceFilter(
        label=_("Status"), queryset=OrderStatus.objects.order_by("position", "pk")
    )
    account = django_filters.CharFilter(label=_("Account"), method="filter_account")
    order_date = django_filters.DateFromToRangeFilter(
        label=_("Order date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    manual = django_filters.BooleanFilter(
        label=_("Waiting for manual provisioning"), method="filter_manual"
    )

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(account__name__icontains=value) | queryset.filter(
            account__number__iexact=value
        )

    def filter_manual(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        waiting = Exists(selectors.manual_items().filter(order=OuterRef("pk")))
        open_ids = selectors.open_orders().values("pk")
        matching = queryset.filter(waiting, pk__in=open_ids)
        return matching if value else queryset.exclude(pk__in=matching.values("pk"))


class OrderListView(RecordListView):
    model = Order
    permission_module = "orders"
    title = _("Orders")
    filterset_class = OrderFilter
    search_fields = ("number", "name", "account__name", "account__number")
    search_placeholder = _("Number, name or account")
    default_sort = "-order_date"
    create_url_name = "orders:create"
    create_permission = ("orders", "create")
    columns = [
        Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
        Column("name", _("Name"), sort="name", link=True),
        Column("account.name", _("Account"), sort="account__name"),
        Column("billing_account.name", _("Billing to")),
        Column("order_date", _("Order date"), sort="order_date"),
        Column("status.name", _("Status"), sort="status__position", badge=True),
        Column(
            "net_total", _("Net"), sort="net_total", value=money_column("net_total"), css="text-end"
        ),
        Column(
            "gross_total",
            _("Total"),
            sort="gross_total",
            value=money_column("gross_total"),
            css="text-end",
        ),
        Column("currency", _("Currency")),
        Column("parent_order.number", _("Sub-order of")),
        Column("owner", _("Owner")),
    ]

    def base_queryset(self) -> QuerySet:
        return Order.objects.select_related(
            "account", "billing_account", "status", "owner", "parent_order"
        )


# ------------------------------------------------------------------------------- detail


def _order_for(request: HttpRequest, pk: int, access: str = "view") -> Order:
    return get_visible_or_404(selectors.order_with_details(), request.user, access, pk=pk)


def _may_edit(request: HttpRequest, order: Order) -> bool:
    return (
        not statuses.is_finished(order.status)
        and user_has_permission(request.user, "orders", "edit")
        and can_access(order, request.user, "edit")
    )


def _detail_context(request: HttpRequest, order: Order, **forms: Any) -> dict[str, Any]:
    items = list(selectors.items_of(order))
    totals = compute_totals(items, currency=order.currency, billing_account=order.billing_account)
    may_edit = _may_edit(request, order)
    role = statuses.role_of(order.status)
    may_execute = (
        role in (statuses.SUBMITTED, statuses.IN_PROGRESS)
        and user_has_permission(request.user, "orders", "execute")
        and can_access(order, request.user, "edit")
    )
    rows = [
        {"item": item, "amounts": amounts}
        for item, amounts in zip(items, totals.lines, strict=True)
    ]
    return {
        "order": order,
        "rows": rows,
        "totals": totals,
        "locale": ui_locale(),
        "may_edit": may_edit,
        "may_execute": may_execute,
        "may_deliver": may_execute
        and order.parent_order_id is None
        and user_has_permission(request.user, "orders", "deliver_partial"),
        "may_cancel": may_edit and role != statuses.EXECUTED,
        "may_delete": user_has_permission(request.user, "orders", "delete")
        and role != statuses.EXECUTED
        and can_access(order, request.user, "delete"),
        "may_override_credit": user_has_permission(
            request.user, "accounts", "override_credit_limit"
        ),
        "has_pending": any(item.delivery_status == DeliveryStatus.PENDING for item in items),
        "item_form": forms.get("item_form")
        or (OrderItemForm(lines=items, account=order.account) if may_edit else None),
        "execute_form": forms.get("execute_form") or ExecuteForm(),
        "status_form": StatusChangeForm(initial={"status": order.status_id}),
        "sub_orders": order.sub_orders.select_related("status").order_by("pk"),
        "source_offer": getattr(order, "source_offer", None),
        "custom_sections": custom_field_sections(
            "order", order.custom_data, account_context=account_context_of(order.account)
        ),
        "history": audit_trail(order)[:30],
        "is_draft": role == statuses.DRAFT,
    }


@requires("orders", "view")
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk)
    return render(request, "orders/detail.html", _detail_context(request, order))


def _form_page(request: HttpRequest, form: OrderForm, order: Order | None) -> HttpResponse:
    return render(
        request,
        "orders/form.html",
        {"form": form, "order": order, "title": order.number if order else _t("New order")},
        status=400 if form.errors else 200,
    )


@requires("orders", "create")
def order_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        initial["account"] = int(account_id)
    form = OrderForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Order %(number)s created.") % {"number": order.number})
            return redirect(order)
    return _form_page(request, form, None)


@requires("orders", "edit")
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    form = OrderForm(request.POST or None, user=request.user, instance=Order.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        arguments.pop("account")
        if arguments.get("billing_account") is None:
            arguments["billing_account"] = services.default_billing_account(order.account)
        try:
            services.order_update(actor=request.user, order=order, **arguments)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Order saved."))
            return redirect(order)
    return _form_page(request, form, order)


def _report(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_POST
@requires("orders", "delete")
def order_delete(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "delete")
    try:
        services.order_delete(actor=request.user, order=order)
    except ValidationError as error:
        _report(request, error)
        return redirect(order)
    messages.success(request, _t("Order %(number)s deleted.") % {"number": order.number})
    return redirect("orders:list")


def _item_arguments(form: OrderItemForm, order: Order) -> dict[str, Any]:
    data = form.cleaned_data
    parent_id = data.get("parent_item")
    parent = order.items.filter(pk=parent_id).first() if parent_id else None
    return {
        "product": data["plan"].product,
        "plan": data["plan"],
        "quantity": data["quantity"],
        "unit_price": data.get("unit_price"),
        "discount_percent": data["discount_percent"],
        "friendly_name": data.get("friendly_name") or "",
        "parent_item": parent,
        "action": data.get("action") or "new",
        "target_subscription_id": data["target_subscription"].pk
        if data.get("target_subscription")
        else None,
        "start_date": data.get("start_date"),
    }


@require_POST
@requires("orders", "edit")
def order_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    form = OrderItemForm(
        request.POST, lines=list(order.items.select_related("product")), account=order.account
    )
    if form.is_valid():
        try:
            services.order_item_add(actor=request.user, order=order, **_item_arguments(form, order))
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Item added."))
            return redirect(order)
    order = _order_for(request, pk)
    return render(
        request, "orders/detail.html", _detail_context(request, order, item_form=form), status=400
    )


def _item_for(request: HttpRequest, pk: int) -> OrderItem:
    return get_visible_or_404(
        OrderItem.objects.select_related("order", "product", "plan"), request.user, "edit", pk=pk
    )


@requires("orders", "edit")
def order_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_for(request, pk)
    order = item.order
    lines = [line for line in order.items.select_related("product") if line.pk != item.pk]
    initial = {
        "plan": item.plan_id,
        "quantity": item.quantity,
        "unit_price": item.unit_price if item.is_price_overridden else None,
        "discount_percent": item.discount_percent,
        "friendly_name": item.friendly_name,
        "parent_item": item.parent_item_id,
        "action": item.action,
        "target_subscription": item.target_subscription_id,
        "start_date": item.start_date,
    }
    form = OrderItemForm(request.POST or None, lines=lines, initial=initial, account=order.account)
    form.fields["plan"].disabled = True
    form.fields["action"].disabled = True
    form.fields["target_subscription"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = _item_arguments(form, order)
        try:
            services.order_item_update(
                actor=request.user,
                item=item,
                quantity=data["quantity"],
                unit_price=data["unit_price"],
                discount_percent=data["discount_percent"],
                friendly_name=data["friendly_name"],
                parent_item=data["parent_item"],
                start_date=data["start_date"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Item saved."))
            return redirect(order)
    return render(
        request,
        "orders/item_form.html",
        {"form": form, "record": order, "item": item, "title": str(item)},
        status=400 if form.errors else 200,
    )


@require_POST
@requires("orders", "edit")
def order_item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_for(request, pk)
    try:
        services.order_item_remove(actor=request.user, item=item)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _t("Item removed."))
    return redirect(item.order)


@require_POST
@requires("orders", "edit")
def order_status_change(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Choose a status."))
        return redirect(order)
    try:
        services.order_set_status(
            actor=request.user, order=order, status=form.cleaned_data["status"]
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _t("Status changed."))
    return redirect(order)


@require_POST
@requires("orders", "edit")
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    try:
        services.order_cancel(
            actor=request.user, order=order, reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _t("Order canceled."))
    return redirect(order)


def _report_execution(request: HttpRequest, result: execution.ExecutionResult) -> None:
    if result.already_executed:
        messages.info(request, _t("The order was already executed; nothing was done again."))
        return
    for warning in result.warnings:
        messages.warning(request, warning)
    made = len(result.subscription_ids) + len(result.asset_ids)
    messages.success(
        request,
        ngettext(
            "Executed: %(count)d subscription or asset created or changed.",
            "Executed: %(count)d subscriptions or assets created or changed.",
            made,
        )
        % {"count": made},
    )


@require_POST
@requires("orders", "execute")
def order_execute(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    form = ExecuteForm(request.POST)
    if form.is_valid():
        try:
            result = execution.order_execute(
                actor=request.user,
                order=order,
                start_date=form.cleaned_data["start_date"],
                invoice_date=form.cleaned_data.get("invoice_date"),
                override_credit=form.cleaned_data.get("override_credit", False),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _report_execution(request, result)
            return redirect(order)
    order = _order_for(request, pk)
    return render(
        request,
        "orders/detail.html",
        _detail_context(request, order, execute_form=form),
        status=400,
    )


@require_POST
@requires("orders", "deliver_partial")
def order_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_for(request, pk, "edit")
    form = ExecuteForm(request.POST)
    ids = [int(value) for value in request.POST.getlist("items") if value.isdigit()]
    if form.is_valid():
        try:
            result = execution.order_deliver_items(
                actor=request.user,
                order=order,
                items=list(order.items.filter(pk__in=ids)),
                start_date=form.cleaned_data["start_date"],
                invoice_date=form.cleaned_data.get("invoice_date"),
                override_credit=form.cleaned_data.get("override_credit", False),
            )
        except ValidationError as error:
            _report(request, error)
        else:
            _report_execution(request, result)
            if result.sub_order is not None:
                messages.info(
                    request,
                    _t("Delivered in sub-order %(number)s.") % {"number": result.sub_order.number},
                )
    else:
        messages.error(request, _t("Choose the start date."))
    return redirect(order)


# ------------------------------------------------------------------------------ statuses


class OrderStatusListView(RecordListView):
    model = OrderStatus
    permission_module = "setup"
    permission_action = "manage"
    title = _("Order statuses")
    default_sort = "position"
    create_url_name = "orders:status_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("status_type", _("Type"), value=lambda s: s.get_status_type_display()),
        Column(
            "storefront_type", _("Storefront type"), value=lambda s: s.get_storefront_type_display()
        ),
        Column("is_active", _("Active")),
        Column("is_default", _("Default in-progress")),
        Column("system_key", _("Mandatory"), value=lambda s: bool(s.system_key)),
        Column("position", _("Position"), sort="position"),
    ]


def _status_page(
    request: HttpRequest, form: OrderStatusForm, status: OrderStatus | None
) -> HttpResponse:
    return render(
        request,
        "orders/status_form.html",
        {
            "form": form,
            "status": status,
            "title": status.name if status else _t("New order status"),
        },
        status=400 if form.errors else 200,
    )


@requires("setup", "manage")
def status_create(request: HttpRequest) -> HttpResponse:
    form = OrderStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_status_create(actor=request.user, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Status saved."))
            return redirect("orders:status_list")
    return _status_page(request, form, None)


@requires("setup", "manage")
def status_edit(request: HttpRequest, pk: int) -> HttpResponse:
    status = get_object_or_404(OrderStatus, pk=pk)
    form = OrderStatusForm(request.POST or None, instance=OrderStatus.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.order_status_update(actor=request.user, status=status, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Status saved."))
            return redirect("orders:status_list")
    return _status_page(request, form, status)


@require_POST
@requires("setup", "manage")
def status_delete(request: HttpRequest, pk: int) -> HttpResponse:
    status = get_object_or_404(OrderStatus, pk=pk)
    try:
        services.order_status_delete(actor=request.user, status=status)
    except ValidationError as error:
        _report(request, error)
        return redirect("orders:status_edit", pk=pk)
    messages.success(request, _t("Status deleted."))
    return redirect("orders:status_list")


# ------------------------------------------------------------------ hooks of other pages


def manual_management_panel(request: HttpRequest) -> Panel | None:
    """Dashboard: orders waiting for manual provisioning, top 50, oldest first."""
    if not user_has_permission(request.user, "orders", "view"):
        return None
    orders = selectors.manual_queue(request.user)
    return Panel(
        title=_("Orders for manual management"),
        template="orders/partials/dashboard_manual.html",
        context={
            "manual_orders": orders,
            "locale": ui_locale(),
            "manual_list_url": reverse("orders:list") + "?manual=true",
        },
        order=20,
    )


def account_orders_tab(request: HttpRequest, account: Account) -> str:
    orders = selectors.orders_of(account, request.user)
    return render_to_string(
        "orders/partials/account_orders.html",
        {
            "account": account,
            "orders": orders,
            "locale": ui_locale(),
            "may_create": user_has_permission(request.user, "orders", "create"),
        },
        request=request,
    )


def describe_orders(account: Account) -> str | None:
    count = Order.objects.filter(account=account).count()
    if not count:
        return None
    return ngettext("%(count)d order", "%(count)d orders", count) % {"count": count}
