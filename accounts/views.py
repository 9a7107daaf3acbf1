"""Accounts: list, 360 page, create and edit."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.forms import AccountForm
from accounts.models import Account
from bss.core.audit import audit_trail
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires
from bss.core.visibility import get_visible_or_404
from bss.setup.fields.selectors import custom_field_sections
from bss.setup.fields.values import account_context_of
from bss.setup.models import PermissionRule, User


class AccountFilter(django_filters.FilterSet):
    account_type = django_filters.ChoiceFilter(label=_("Type"), choices=Account.Type.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Account.Status.choices)
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"), queryset=User.objects.filter(is_active=True)
    )
    currency = django_filters.CharFilter(label=_("Currency"), lookup_expr="iexact")
    permission_rule = django_filters.ModelChoiceFilter(
        label=_("Permission rule"),
        queryset=PermissionRule.objects.filter(modules__entity="account"),
    )

    class Meta:
        model = Account
        fields: list[str] = []


class AccountListView(RecordListView):
    model = Account
    permission_module = "accounts"
    title = _("Accounts")
    filterset_class = AccountFilter
    search_fields = ("name", "number", "email")
    search_placeholder = _("Name, number or email")
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
        Column("currency", _("Currency"), sort="currency"),
        Column("owner", _("Owner")),
        Column("permission_rule", _("Permission rule")),
        Column(
            "status", _("Status"), sort="status", badge=True, value=lambda a: a.get_status_display()
        ),
        Column("created_at", _("Created"), sort="created_at"),
    ]

    def base_queryset(self) -> QuerySet:
        return Account.objects.select_related("parent", "owner", "permission_rule")


@requires("accounts", "view")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(
        Account.objects.select_related("parent", "owner", "permission_rule"), request.user, pk=pk
    )
    context: dict[str, Any] = {
        "account": account,
        "custom_sections": custom_field_sections(
            "account", account.custom_data, account_context=account_context_of(account)
        ),
        "history": audit_trail(account)[:50],
    }
    return render(request, "accounts/detail.html", context)


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
            return redirect(account)
    return render(request, "accounts/form.html", {"form": form})


@requires("accounts", "edit")
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=pk)
    form = AccountForm(
        request.POST or None, instance=Account.objects.get(pk=account.pk), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(actor=request.user, account=account, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Account saved."))
            return redirect(account)
    return render(request, "accounts/form.html", {"form": form, "account": account})
