"""Contacts: the list of everybody's contacts the user may see, and their pages."""

from __future__ import annotations

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import ContactForm
from accounts.models import Account, Contact
from bss.core.audit import audit_trail
from bss.core.consent import request_origin
from bss.core.forms import apply_validation_error
from bss.core.listing import Column, RecordListView
from bss.core.permissions import requires
from bss.core.visibility import can_access, get_visible_or_404
from bss.setup.fields.selectors import custom_field_sections, value_choices
from bss.setup.fields.values import account_context_of


class ContactFilter(django_filters.FilterSet):
    is_primary = django_filters.BooleanFilter(label=_("Primary"))
    is_bill_to = django_filters.BooleanFilter(label=_("Bill-to"))
    has_storefront_access = django_filters.BooleanFilter(label=_("Storefront access"))
    storefront_role = django_filters.ChoiceFilter(
        label=_("Storefront role"), choices=Contact.StorefrontRole.choices
    )
    account_type = django_filters.ChoiceFilter(
        label=_("Account type"), field_name="account__account_type", choices=Account.Type.choices
    )

    class Meta:
        model = Contact
        fields: list[str] = []


class ContactListView(RecordListView):
    model = Contact
    permission_module = "contacts"
    title = _("Contacts")
    filterset_class = ContactFilter
    search_fields = ("first_name", "last_name", "email", "phone", "mobile", "account__name")
    search_placeholder = _("Name, email, phone or account")
    default_sort = "last_name"
    create_url_name = "accounts:contact_create"
    create_permission = ("contacts", "create")
    columns = [
        Column("full_name", _("Name"), sort="last_name", link=True),
        Column("email", _("Email"), sort="email"),
        Column("phone", _("Phone")),
        Column("account.name", _("Account"), sort="account__name"),
        Column("is_primary", _("Primary")),
        Column("is_bill_to", _("Bill-to")),
        Column("has_opted_in", _("Opt-in")),
        Column(
            "storefront_role",
            _("Storefront"),
            value=lambda c: c.get_storefront_role_display() if c.has_storefront_access else None,
        ),
    ]

    def base_queryset(self) -> QuerySet:
        return Contact.objects.select_related("account")


@requires("contacts", "view")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(Contact.objects.select_related("account"), request.user, pk=pk)
    return render(
        request,
        "accounts/contact_detail.html",
        {
            "contact": contact,
            "account": contact.account,
            "may_edit": can_access(contact, request.user, "edit"),
            "company_role": dict(value_choices("contact", "company_role")).get(
                contact.company_role, contact.company_role
            ),
            "custom_sections": custom_field_sections(
                "contact", contact.custom_data, account_context=account_context_of(contact.account)
            ),
            "history": audit_trail(contact)[:30],
        },
    )


def _save_new(request: HttpRequest, form: ContactForm) -> Contact | None:
    try:
        contact = services.contact_create(
            actor=request.user,
            account=form.target_account(),
            consent_source=f"BSS contact form ({request.user})",
            consent_origin=request_origin(request),
            **form.service_arguments(),
        )
    except ValidationError as error:
        apply_validation_error(form, error)
        return None
    messages.success(request, _t("Contact %(name)s added.") % {"name": contact.full_name})
    return contact


@requires("contacts", "create")
def contact_create(request: HttpRequest) -> HttpResponse:
    """From the contacts list: the account is named by its number."""
    form = ContactForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        contact = _save_new(request, form)
        if contact is not None:
            return redirect(contact)
    return render(request, "accounts/contact_form.html", {"form": form})


@requires("contacts", "create")
def account_contact_create(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_visible_or_404(Account.objects.all(), request.user, "edit", pk=account_pk)
    form = ContactForm(request.POST or None, user=request.user, account=account)
    if request.method == "POST" and form.is_valid():
        contact = _save_new(request, form)
        if contact is not None:
            return redirect(account)
    return render(request, "accounts/contact_form.html", {"form": form, "account": account})


@requires("contacts", "edit")
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(
        Contact.objects.select_related("account"), request.user, "edit", pk=pk
    )
    form = ContactForm(
        request.POST or None,
        instance=Contact.objects.select_related("account").get(pk=contact.pk),
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(
                actor=request.user,
                contact=contact,
                account=form.target_account(),
                consent_source=f"BSS contact form ({request.user})",
                consent_origin=request_origin(request),
                **form.service_arguments(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _t("Contact saved."))
            return redirect(contact)
    return render(
        request,
        "accounts/contact_form.html",
        {"form": form, "contact": contact, "account": contact.account},
    )


@require_POST
@requires("contacts", "delete")
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(
        Contact.objects.select_related("account"), request.user, "edit", pk=pk
    )
    account = contact.account
    try:
        services.contact_delete(actor=request.user, contact=contact)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(contact)
    messages.success(request, _t("Contact %(name)s deleted.") % {"name": contact.full_name})
    return redirect(account)
