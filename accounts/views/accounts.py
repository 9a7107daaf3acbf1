"""Accounts: the list with bulk actions, the 360 page with its tabs, create, edit, delete."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import django_filters
from auditlog.models import LogEntry
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import registry, selectors, services
from accounts.addresses import country_area_choices
from accounts.forms import AccountDeleteForm, AccountForm, AssignManagerForm, PriceListAssignForm
from accounts.models import Account, Address, Contact, Document
from accounts.ordering import country_name, presets_for_form, state_choices, state_name
from bss.core.forms import apply_validation_error
from bss.core.listing import BulkAction, Column, RecordListView
from bss.core.permissions import requires, user_has_permission
from bss.core.visibility import can_access, get_visible_or_404
from bss.setup.fields.selectors import custom_field_sections, value_choices
from bss.setup.fields.values import account_context_of
from bss.setup.models import PermissionRule, User


def user_choices() -> list[tuple[int, str]]:
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "email")
    return [(user.pk, str(user)) for user in users]


class AccountFilter(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(label=_("Type"), choices=Account.Type.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Account.Status.choices)
    account_manager = django_filters.ChoiceFilter(label=_("Manager"))
    reseller = django_filters.CharFilter(
        label=_("Reseller"), method="filter_reseller", help_text=_("Name or number")
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    owner = django_filters.ChoiceFilter(label=_("Owner"))
    permission_rule = django_filters.ModelChoiceFilter(
        label=_("Permission rule"),
        queryset=PermissionRule.objects.filter(modules__entity="account"),
    )

    class Meta:
        model = Account
        fields: list[str] = []

    def __init__(
        self, *args: Any, users: list[tuple[int, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # One query for the users of both selects, and none when nobody renders them.
        choices = users if users is not None else user_choices()
        self.filters["account_manager"].extra["choices"] = choices
        self.filters["owner"].extra["choices"] = choices

    def filter_reseller(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        return queryset.filter(Q(parent__name__icontains=term) | Q(parent__number__iexact=term))


def _deactivate(actor: Any, account: Any, params: dict[str, Any]) -> None:
    services.account_deactivate(actor=actor, account=account)


def _assign_manager(actor: Any, account: Any, params: dict[str, Any]) -> None:
    services.account_assign_manager(actor=actor, account=account, manager=params["manager"])


class AccountListView(RecordListView):
    model = Account
    permission_module = "accounts"
    title = _("Accounts")
    filterset_class = AccountFilter
    search_fields = ("name", "number", "email", "vat_number")
    search_placeholder = _("Name, number, email or VAT number")
    default_sort = "name"
    create_url_name = "accounts:create"
    create_permission = ("accounts", "create")
    columns = [
        Column("number", _("Number"), sort="number", link=True, css="text-nowrap"),
        Column("name", _("Name"), sort="name", link=True),
        Column(
            "account_type",
            _("Type"),
            sort="account_type",
            value=lambda a: a.get_account_type_display(),
        ),
        Column("parent.name", _("Reseller")),
        Column("account_manager", _("Manager")),
        Column("currency", _("Currency"), sort="currency"),
        Column("owner", _("Owner")),
        Column("permission_rule", _("Permission rule")),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda a: a.get_status_display()
        ),
        Column("created_at", _("Created"), sort="created_at"),
    ]
    bulk_actions = [
        BulkAction(
            "assign_manager",
            _("Assign account manager"),
            ("accounts", "edit"),
            _assign_manager,
            confirm=_("Assign the chosen manager to the selected accounts?"),
            form_class=AssignManagerForm,
        ),
        BulkAction(
            "deactivate",
            _("Deactivate"),
            ("accounts", "edit"),
            _deactivate,
            confirm=_(
                "Deactivate the selected accounts? They cannot order any more; "
                "their subscriptions stay as they are."
            ),
        ),
    ]

    @cached_property
    def users(self) -> list[tuple[int, str]]:
        return user_choices()

    def base_queryset(self) -> QuerySet:
        return Account.objects.select_related(
            "parent", "owner", "permission_rule", "account_manager"
        )

    def get_filterset_class(self) -> Any:
        base = super().get_filterset_class()
        users = self.users

        class WithUsers(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, users=users, **kwargs)

        return WithUsers

    def bulk_form(self, action: BulkAction, data: Any = None) -> Any:
        if action.form_class is AssignManagerForm:
            return AssignManagerForm(data, prefix=f"bulk_{action.key}", users=self.users)
        return super().bulk_form(action, data)


@requires("accounts", "view")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(
        Account.objects.select_related(
            "parent", "owner", "permission_rule", "account_manager", "billing_account"
        ),
        request.user,
        pk=pk,
    )
    tabs = _tabs_for(request)
    keys = [key for key, _label, _icon in tabs]
    tab = request.GET.get("tab") or keys[0]
    if tab not in keys:
        raise Http404("No such tab.")
    context = {
        "account": account,
        "tabs": tabs,
        "tab": tab,
        "tab_html": _tab_html(request, account, tab),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "accounts/detail.html#tabs", context)
    may_edit = user_has_permission(request.user, "accounts", "edit") and can_access(
        account, request.user, "edit"
    )
    context.update(
        {
            "may_edit": may_edit,
            "may_delete": user_has_permission(request.user, "accounts", "delete")
            and can_access(account, request.user, "delete"),
            "figures": selectors.financial_summary(account),
            "profile": selectors.billing_profile(account),
            "country_label": country_name(account.country) if account.country else "",
            "state_label": state_name(account.state),
            "industry_label": dict(value_choices("account", "industry")).get(
                account.industry, account.industry
            ),
            "lead_source_label": dict(value_choices("account", "lead_source")).get(
                account.lead_source, account.lead_source
            ),
            "custom_sections": custom_field_sections(
                "account", account.custom_data, account_context=account_context_of(account)
            ),
            "panels": _panels_html(request, account),
        }
    )
    return render(request, "accounts/detail.html", context)


BUILT_IN_TABS = [
    ("overview", _("Overview"), "grid"),
    ("billing", _("Price lists & rebates"), "tags"),
    ("activity", _("Activity"), "clock-history"),
]


def _tabs_for(request: HttpRequest) -> list[tuple[str, Any, str]]:
    registered = [
        (tab.key, tab.label, tab.icon)
        for tab in registry.account_tabs()
        if user_has_permission(request.user, tab.module, tab.action)
    ]
    return BUILT_IN_TABS[:2] + registered + BUILT_IN_TABS[2:]


def _tab_html(request: HttpRequest, account: Account, tab: str) -> str:
    if tab == "overview":
        return _render(request, "accounts/tabs/overview.html", _overview_context(request, account))
    if tab == "billing":
        return _render(request, "accounts/tabs/billing.html", _billing_context(request, account))
    if tab == "activity":
        return _render(request, "accounts/tabs/activity.html", {"history": activity_of(account)})
    found = registry.account_tab(tab)
    assert found is not None
    return mark_safe(found.render(request, account))


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> str:
    return render_to_string(template, context, request=request)


def _panels_html(request: HttpRequest, account: Account) -> list[tuple[Any, str]]:
    shown = []
    for panel in registry.account_panels():
        if user_has_permission(request.user, panel.module, panel.action):
            html = panel.render(request, account)
            if html:
                shown.append((panel.title, mark_safe(html)))
    return shown


def _overview_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    user = request.user
    may_edit = can_access(account, user, "edit")
    return {
        "account": account,
        "may_edit": may_edit,
        "show_contacts": user_has_permission(user, "contacts", "view"),
        "may_add_contact": may_edit and user_has_permission(user, "contacts", "create"),
        "may_edit_contacts": may_edit and user_has_permission(user, "contacts", "edit"),
        "contacts": account.contacts.order_by("-is_primary", "last_name", "first_name"),
        "addresses": account.addresses.order_by("kind", "pk"),
        "may_edit_addresses": may_edit and user_has_permission(user, "accounts", "edit"),
        "show_documents": user_has_permission(user, "documents", "view"),
        "may_add_document": may_edit and user_has_permission(user, "documents", "create"),
        "documents": selectors.documents_of(account)[:20],
        "document_stages": dict(value_choices("document", "stage")),
        "document_types": dict(value_choices("document", "document_type")),
        "history": activity_of(account, limit=5),
    }


def _billing_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    user = request.user
    may_edit = can_access(account, user, "edit") and user_has_permission(user, "accounts", "edit")
    return {
        "account": account,
        "may_edit": may_edit,
        "assignments": selectors.price_list_assignments(account),
        "assign_form": PriceListAssignForm(account=account, user=user) if may_edit else None,
        "rebate_terms": account.rebate_terms.prefetch_related("tiers", "products"),
        "credit": selectors.credit_breakdown(account),
    }


def activity_of(account: Account, limit: int = 50) -> list[Any]:
    """The audit trail of the account and of what hangs on it, newest first."""
    related = [
        (Contact, account.contacts.values_list("pk", flat=True)),
        (Address, account.addresses.values_list("pk", flat=True)),
        (Document, account.documents.values_list("pk", flat=True)),
    ]
    condition = Q(
        content_type=ContentType.objects.get_for_model(Account), object_pk=str(account.pk)
    )
    for model, ids in related:
        keys = [str(pk) for pk in ids]
        if keys:
            condition |= Q(
                content_type=ContentType.objects.get_for_model(model), object_pk__in=keys
            )
    return list(
        LogEntry.objects.filter(condition)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")[:limit]
    )


def _form_context(form: AccountForm, account: Account | None = None) -> dict[str, Any]:
    return {"form": form, "account": account, "presets": presets_for_form()}


@requires("accounts", "create")
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, _t("Account %(number)s created.") % {"number": account.number}
            )
            _warn_vat_duplicates(request, account)
            return redirect(account)
    return render(request, "accounts/form.html", _form_context(form))


@requires("accounts", "edit")
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=pk)
    form = AccountForm(
        request.POST or None, instance=Account.objects.get(pk=account.pk), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        vat_before = account.vat_number
        try:
            services.account_update(actor=request.user, account=account, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Account saved."))
            if account.vat_number != vat_before:
                _warn_vat_duplicates(request, account)
            return redirect(account)
    return render(request, "accounts/form.html", _form_context(form, account))


def _warn_vat_duplicates(request: HttpRequest, account: Account) -> None:
    warning = selectors.vat_duplicate_warning(
        account.vat_number, user=request.user, exclude=account
    )
    if warning:
        messages.warning(request, warning)


@require_POST
@requires("accounts", "edit")
def account_status(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=pk)
    wanted = request.POST.get("status")
    try:
        if wanted == Account.Status.INACTIVE:
            services.account_deactivate(actor=request.user, account=account)
            messages.success(request, _t("Account deactivated: it cannot order any more."))
        elif wanted == Account.Status.ACTIVE:
            services.account_activate(actor=request.user, account=account)
            messages.success(request, _t("Account activated."))
        else:
            messages.error(request, _t("Unknown status."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(account)


@requires("accounts", "delete")
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "delete", pk=pk)
    form = AccountDeleteForm(request.POST or None, number=account.number)
    blockers = selectors.transactions_of(account)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(actor=request.user, account=account)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request, _t("Account %(number)s deleted.") % {"number": account.number}
            )
            return redirect("accounts:list")
    return render(
        request,
        "accounts/delete.html",
        {"account": account, "form": form, "blockers": blockers},
        status=400 if form.errors else 200,
    )


@requires("accounts", "view")
def region_options(request: HttpRequest) -> HttpResponse:
    """The <option>s of a country's states (account tax basis) or address areas (datalist)."""
    country = request.GET.get("country", "") or request.GET.get("country_code", "")
    if request.GET.get("for") == "address":
        choices = country_area_choices(country)
        html = format_html_join("", '<option value="{}">{}</option>', choices)
    else:
        choices = [("", "---------"), *state_choices(country)]
        html = format_html_join("", '<option value="{}">{}</option>', choices)
    return HttpResponse(html)
