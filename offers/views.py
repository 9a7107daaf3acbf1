"""Offer pages: list, create, the offer with items and totals, PDF, share, convert, setup,
and the customer's public page behind a signed link."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import Account
from bss.core.audit import audit_trail
from bss.core.consent import request_origin
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import public, requires, user_has_permission
from bss.core.visibility import can_access, get_visible_or_404, visible_records
from bss.setup.fields.selectors import custom_field_sections
from bss.setup.fields.values import account_context_of
from offers import services
from offers.forms import (
    LineForm,
    OfferForm,
    OfferStatusChangeForm,
    OfferStatusForm,
    OfferTemplateForm,
    RespondForm,
    ShareForm,
)
from offers.models import Offer, OfferItem, OfferStatus, OfferStatusType, OfferTemplate
from offers.pdf import render_offer_html, render_offer_pdf
from orders.totals import compute_totals
from orders.views import money_column, ui_locale


class OfferFilter(django_filters.FilterSet):
    status = django_filters.ModelChoiceFilter(
        label=_("Status"), queryset=OfferStatus.objects.order_by("position", "pk")
    )
    status_type = django_filters.ChoiceFilter(
        label=_("Status type"), field_name="status__status_type", choices=OfferStatusType.choices
    )
    account = django_filters.CharFilter(label=_("Account"), method="filter_account")
    offer_date = django_filters.DateFromToRangeFilter(
        label=_("Offer date"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    converted = django_filters.BooleanFilter(
        label=_("Converted to an order"),
        field_name="converted_order",
        lookup_expr="isnull",
        exclude=True,
    )

    class Meta:
        model = Offer
        fields: list[str] = []

    def filter_account(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(account__name__icontains=value) | queryset.filter(
            account__number__iexact=value
        )


class OfferListView(RecordListView):
    model = Offer
    permission_module = "offers"
    title = _("Offers")
    filterset_class = OfferFilter
    search_fields = ("number", "name", "account__name", "account__number")
    search_placeholder = _("Number, name or account")
    default_sort = "-offer_date"
    create_url_name = "offers:create"
    create_permission = ("offers", "create")
    columns = [
        Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
        Column("name", _("Name"), sort="name", link=True),
        Column("account.name", _("Account"), sort="account__name"),
        Column("offer_date", _("Offer date"), sort="offer_date"),
        Column("valid_until", _("Valid until"), sort="valid_until"),
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
        Column("converted_order.number", _("Order")),
        Column("owner", _("Owner")),
    ]

    def base_queryset(self) -> QuerySet:
        return Offer.objects.select_related("account", "status", "owner", "converted_order")


def _offer_for(request: HttpRequest, pk: int, access: str = "view") -> Offer:
    return get_visible_or_404(
        Offer.objects.select_related(
            "account",
            "billing_account",
            "status",
            "owner",
            "price_list",
            "permission_rule",
            "converted_order",
            "copied_from",
        ),
        request.user,
        access,
        pk=pk,
    )


def _is_open(offer: Offer) -> bool:
    return offer.converted_order_id is None and offer.status.status_type != OfferStatusType.LOST


def _detail_context(request: HttpRequest, offer: Offer, **forms: Any) -> dict[str, Any]:
    items = list(
        offer.items.select_related(
            "product", "plan", "parent_item", "promotion", "price_overridden_by"
        )
    )
    totals = compute_totals(items, currency=offer.currency, billing_account=offer.billing_account)
    share_form = forms.get("share_form") or ShareForm(offer=offer)
    may_edit = (
        _is_open(offer)
        and user_has_permission(request.user, "offers", "edit")
        and can_access(offer, request.user, "edit")
    )
    return {
        "offer": offer,
        "rows": [
            {"item": item, "amounts": amounts}
            for item, amounts in zip(items, totals.lines, strict=True)
        ],
        "totals": totals,
        "locale": ui_locale(),
        "may_edit": may_edit,
        "may_share": may_edit and offer.status.status_type == OfferStatusType.IN_PROGRESS,
        "may_convert": offer.converted_order_id is None
        and offer.status.status_type == OfferStatusType.ACCEPTED
        and user_has_permission(request.user, "offers", "convert")
        and user_has_permission(request.user, "orders", "create"),
        "may_copy": user_has_permission(request.user, "offers", "create"),
        "may_delete": offer.converted_order_id is None
        and user_has_permission(request.user, "offers", "delete")
        and can_access(offer, request.user, "delete"),
        "item_form": forms.get("item_form") or (LineForm(lines=items) if may_edit else None),
        "share_form": share_form,
        "share_link_fields": [share_form["create_link"], share_form["message"]],
        "status_form": OfferStatusChangeForm(initial={"status": offer.status_id}),
        "share_link": forms.get("share_link", ""),
        "custom_sections": custom_field_sections(
            "offer", offer.custom_data, account_context=account_context_of(offer.account)
        ),
        "history": audit_trail(offer)[:30],
    }


@requires("offers", "view")
def offer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk)
    link = request.session.pop(f"offer-link-{offer.pk}", "")
    return render(request, "offers/detail.html", _detail_context(request, offer, share_link=link))


def _form_page(request: HttpRequest, form: OfferForm, offer: Offer | None) -> HttpResponse:
    return render(
        request,
        "offers/form.html",
        {"form": form, "offer": offer, "title": offer.number if offer else _t("New offer")},
        status=400 if form.errors else 200,
    )


@requires("offers", "create")
def offer_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        initial["account"] = int(account_id)
    form = OfferForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.offer_create(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Offer %(number)s created.") % {"number": offer.number})
            return redirect(offer)
    return _form_page(request, form, None)


@requires("offers", "edit")
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    form = OfferForm(request.POST or None, user=request.user, instance=Offer.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        account = arguments.pop("account")
        if arguments.get("billing_account") is None:
            from orders.services import default_billing_account

            arguments["billing_account"] = default_billing_account(account or offer.account)
        if arguments.get("valid_until") is None:
            arguments.pop("valid_until")
        try:
            services.offer_update(actor=request.user, offer=offer, **arguments)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Offer saved."))
            return redirect(offer)
    return _form_page(request, form, offer)


def _report(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_POST
@requires("offers", "delete")
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "delete")
    try:
        services.offer_delete(actor=request.user, offer=offer)
    except ValidationError as error:
        _report(request, error)
        return redirect(offer)
    messages.success(request, _t("Offer %(number)s deleted.") % {"number": offer.number})
    return redirect("offers:list")


@require_POST
@requires("offers", "edit")
def offer_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    form = LineForm(request.POST, lines=list(offer.items.select_related("product")))
    if form.is_valid():
        data = form.cleaned_data
        parent = (
            offer.items.filter(pk=data["parent_item"]).first() if data.get("parent_item") else None
        )
        try:
            services.offer_item_add(
                actor=request.user,
                offer=offer,
                product=data["plan"].product,
                plan=data["plan"],
                quantity=data["quantity"],
                unit_price=data.get("unit_price"),
                discount_percent=data["discount_percent"],
                friendly_name=data.get("friendly_name") or "",
                parent_item=parent,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Item added."))
            return redirect(offer)
    return render(
        request, "offers/detail.html", _detail_context(request, offer, item_form=form), status=400
    )


@requires("offers", "edit")
def offer_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(
        OfferItem.objects.select_related("offer", "product", "plan"), request.user, "edit", pk=pk
    )
    offer = item.offer
    lines = [line for line in offer.items.select_related("product") if line.pk != item.pk]
    initial = {
        "plan": item.plan_id,
        "quantity": item.quantity,
        "unit_price": item.unit_price if item.is_price_overridden else None,
        "discount_percent": item.discount_percent,
        "friendly_name": item.friendly_name,
        "parent_item": item.parent_item_id,
    }
    form = LineForm(request.POST or None, lines=lines, initial=initial)
    form.fields["plan"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = (
            offer.items.filter(pk=data["parent_item"]).first() if data.get("parent_item") else None
        )
        try:
            services.offer_item_update(
                actor=request.user,
                item=item,
                quantity=data["quantity"],
                unit_price=data.get("unit_price"),
                discount_percent=data["discount_percent"],
                friendly_name=data.get("friendly_name") or "",
                parent_item=parent,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Item saved."))
            return redirect(offer)
    return render(
        request,
        "orders/item_form.html",
        {"form": form, "record": offer, "title": str(item)},
        status=400 if form.errors else 200,
    )


@require_POST
@requires("offers", "edit")
def offer_item_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(
        OfferItem.objects.select_related("offer"), request.user, "edit", pk=pk
    )
    try:
        services.offer_item_remove(actor=request.user, item=item)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _t("Item removed."))
    return redirect(item.offer)


@require_POST
@requires("offers", "edit")
def offer_status_change(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    form = OfferStatusChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Choose a status."))
        return redirect(offer)
    try:
        services.offer_set_status(
            actor=request.user, offer=offer, status=form.cleaned_data["status"]
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, _t("Status changed."))
    return redirect(offer)


@require_POST
@requires("offers", "create")
def offer_copy(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk)
    try:
        copy = services.offer_copy(actor=request.user, offer=offer)
    except ValidationError as error:
        _report(request, error)
        return redirect(offer)
    messages.success(request, _t("Copied to offer %(number)s.") % {"number": copy.number})
    return redirect(copy)


@requires("offers", "view")
def offer_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk)
    response = HttpResponse(render_offer_pdf(offer), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{offer.number}.pdf"'
    return response


@require_POST
@requires("offers", "edit")
def offer_share(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    form = ShareForm(request.POST, offer=offer)
    if form.is_valid():
        try:
            result = services.offer_share(
                actor=request.user,
                offer=offer,
                contacts=list(form.cleaned_data["contacts"]),
                create_link=form.cleaned_data["create_link"],
                message=form.cleaned_data["message"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if result.recipients:
                messages.success(
                    request,
                    ngettext(
                        "Offer shared; the PDF goes to %(count)d contact.",
                        "Offer shared; the PDF goes to %(count)d contacts.",
                        len(result.recipients),
                    )
                    % {"count": len(result.recipients)},
                )
            else:
                messages.success(request, _t("Offer shared."))
            request.session[f"offer-link-{offer.pk}"] = result.link
            return redirect(offer)
    return render(
        request, "offers/detail.html", _detail_context(request, offer, share_form=form), status=400
    )


@require_POST
@requires("offers", "edit")
def offer_revoke_link(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    services.offer_revoke_link(actor=request.user, offer=offer)
    messages.success(request, _t("The public link no longer opens the offer."))
    return redirect(offer)


@require_POST
@requires("offers", "convert")
def offer_convert(request: HttpRequest, pk: int) -> HttpResponse:
    offer = _offer_for(request, pk, "edit")
    if not user_has_permission(request.user, "orders", "create"):
        messages.error(request, _t("Converting needs the right to create orders."))
        return redirect(offer)
    try:
        order = services.offer_convert(actor=request.user, offer=offer)
    except ValidationError as error:
        _report(request, error)
        return redirect(offer)
    messages.success(request, _t("Offer converted to order %(number)s.") % {"number": order.number})
    return redirect(order)


# ------------------------------------------------------------------------------ statuses


class OfferStatusListView(RecordListView):
    model = OfferStatus
    permission_module = "setup"
    permission_action = "manage"
    title = _("Offer statuses")
    default_sort = "position"
    create_url_name = "offers:status_create"
    create_permission = ("setup", "manage")
    columns = [
        Column("name", _("Name"), sort="name", link=True),
        Column("status_type", _("Type"), value=lambda s: s.get_status_type_display()),
        Column("is_active", _("Active")),
        Column("is_default", _("Default")),
        Column("is_draft", _("Not yet sent")),
        Column("position", _("Position"), sort="position"),
    ]


def _status_page(
    request: HttpRequest, form: OfferStatusForm, status: OfferStatus | None
) -> HttpResponse:
    return render(
        request,
        "offers/status_form.html",
        {
            "form": form,
            "status": status,
            "title": status.name if status else _t("New offer status"),
        },
        status=400 if form.errors else 200,
    )


@requires("setup", "manage")
def status_create(request: HttpRequest) -> HttpResponse:
    form = OfferStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.offer_status_create(actor=request.user, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Status saved."))
            return redirect("offers:status_list")
    return _status_page(request, form, None)


@requires("setup", "manage")
def status_edit(request: HttpRequest, pk: int) -> HttpResponse:
    status = get_object_or_404(OfferStatus, pk=pk)
    form = OfferStatusForm(request.POST or None, instance=OfferStatus.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.offer_status_update(actor=request.user, status=status, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Status saved."))
            return redirect("offers:status_list")
    return _status_page(request, form, status)


@require_POST
@requires("setup", "manage")
def status_delete(request: HttpRequest, pk: int) -> HttpResponse:
    status = get_object_or_404(OfferStatus, pk=pk)
    try:
        services.offer_status_delete(actor=request.user, status=status)
    except ValidationError as error:
        _report(request, error)
        return redirect("offers:status_edit", pk=pk)
    messages.success(request, _t("Status deleted."))
    return redirect("offers:status_list")


# ------------------------------------------------------------------------------ template


def _preview_offer() -> Offer | None:
    return (
        Offer.objects.filter(items__isnull=False)
        .select_related("account", "billing_account", "status", "owner")
        .order_by("-pk")
        .first()
    )


def _preview_html(template: OfferTemplate) -> str:
    offer = _preview_offer()
    if offer is None:
        return ""
    return render_offer_html(offer, template, for_pdf=False)


@requires("setup", "manage")
def template_edit(request: HttpRequest) -> HttpResponse:
    current = services.offer_template()
    form = OfferTemplateForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.offer_template_update(actor=request.user, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Offer template saved."))
            return redirect("offers:template")
    return render(
        request,
        "offers/template_form.html",
        {"form": form, "preview_html": _preview_html(current)},
        status=400 if form.errors else 200,
    )


@require_POST
@requires("setup", "manage")
def template_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the latest offer rendered with the unsaved template values."""
    form = OfferTemplateForm(request.POST, instance=services.offer_template())
    template = services.offer_template()
    if form.is_valid():
        for name, value in form.service_fields().items():
            setattr(template, name, value)
    return render(
        request, "offers/partials/template_preview.html", {"preview_html": _preview_html(template)}
    )


# ------------------------------------------------------------------------------- public


def _lookup(token: str) -> services.LinkLookup:
    found = services.offer_from_token(token)
    if found.offer is None:
        raise Http404("No such offer link.")
    return found


@public
def public_offer(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's view of a shared offer, with accept and decline (no sign-in)."""
    found = _lookup(token)
    offer = found.offer
    assert offer is not None
    form = RespondForm(request.POST or None)
    if request.method == "POST" and not found.is_expired:
        response = request.POST.get("response", "")
        if form.is_valid():
            origin = request_origin(request)
            try:
                services.offer_respond(
                    offer=offer,
                    response=response,
                    name=form.cleaned_data["name"],
                    note=form.cleaned_data["note"],
                    ip_address=origin["ip_address"],
                    user_agent=origin["user_agent"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                return redirect("offers:public", token=token)
    offer.refresh_from_db()
    open_for_response = (
        not found.is_expired
        and not offer.response
        and offer.converted_order_id is None
        and offer.status.status_type == OfferStatusType.IN_PROGRESS
    )
    return render(
        request,
        "offers/public.html",
        {
            "offer": offer,
            "token": token,
            "form": form,
            "is_expired": found.is_expired,
            "open_for_response": open_for_response,
            "document_html": render_offer_html(offer, for_pdf=False),
        },
        status=410 if found.is_expired else (400 if form.errors else 200),
    )


@public
def public_offer_pdf(request: HttpRequest, token: str) -> HttpResponse:
    found = _lookup(token)
    if found.is_expired:
        return render(
            request, "offers/public.html", {"is_expired": True, "offer": found.offer}, status=410
        )
    assert found.offer is not None
    response = HttpResponse(render_offer_pdf(found.offer), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.offer.number}.pdf"'
    return response


# ------------------------------------------------------------------ hooks of other pages


def account_offers_tab(request: HttpRequest, account: Account) -> str:
    offers = visible_records(
        Offer.objects.filter(account=account).select_related("status", "converted_order"),
        request.user,
    ).order_by("-offer_date", "-pk")[:20]
    return render_to_string(
        "offers/partials/account_offers.html",
        {
            "account": account,
            "offers": offers,
            "locale": ui_locale(),
            "may_create": user_has_permission(request.user, "offers", "create"),
            "list_url": reverse("offers:list"),
        },
        request=request,
    )


def describe_offers(account: Account) -> str | None:
    count = Offer.objects.filter(account=account).count()
    if not count:
        return None
    return ngettext("%(count)d offer", "%(count)d offers", count) % {"count": count}
