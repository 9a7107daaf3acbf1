"""Every write to accounts, contacts, price-list assignments, rebates and Customers settings.

Addresses are written by ``accounts.addresses`` and documents by ``accounts.documents``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.documents import KNOWN_TYPES
from accounts.models import (
    LAST_FIXED_BILLING_DAY,
    MAX_PAYMENT_DAYS,
    Account,
    AddressValidationMode,
    Contact,
    CustomerSettings,
    PriceListAssignment,
    RebateTerm,
    RebateTier,
    UserFileQuota,
)
from accounts.ordering import ORDERING_FIELDS, clean_country_and_state, preset_for
from accounts.rebates import Tier, check_tiers
from accounts.selectors import transactions_of
from accounts.vat import normalize_vat_number
from bss.core.audit import acting_as
from bss.core.consent import record_consent
from bss.core.events import emit_event
from bss.core.models import ConsentRecord
from bss.core.money import minor_units
from bss.core.numbering import next_number
from bss.core.visibility import can_access, visible_records
from bss.setup.currencies.selectors import active_currency_codes
from bss.setup.fields.selectors import value_choices
from bss.setup.fields.values import account_context_of, validate_custom_data
from bss.setup.rules.selectors import default_rule_for
from bss.setup.rules.services import check_rule_assignable
from catalogue.models import PriceList, Product

ACCOUNT_FIELDS = (
    "name",
    "account_type",
    "parent",
    "account_manager",
    "status",
    "currency",
    "transaction_currency",
    "language",
    "industry",
    "lead_source",
    "vat_number",
    "email",
    "phone",
    "website",
    "permission_rule",
    *ORDERING_FIELDS,
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "company_role",
    "email",
    "phone",
    "mobile",
    "fax",
    "is_primary",
    "is_bill_to",
    "has_opted_in",
    "has_storefront_access",
    "storefront_role",
)
OPT_IN_SUBJECT = "Use of personal data (contact opt-in)"


def _check_known(fields: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(f"Unknown {what} fields: {', '.join(sorted(unknown))}")


def _require_access(record: Any, actor: Any, access: str, message: str) -> None:
    if actor is not None and not can_access(record, actor, access):  # type: ignore[arg-type]
        raise PermissionDenied(message)


# ---------------------------------------------------------------------------- accounts


def _check_hierarchy(*, account_type: str, parent: Account | None) -> None:
    if account_type == Account.Type.CLIENT:
        if parent is None:
            raise ValidationError({"parent": "A reseller's client needs its parent reseller."})
        if parent.account_type != Account.Type.RESELLER:
            raise ValidationError({"parent": f"{parent.name} is not a reseller."})
    elif parent is not None:
        raise ValidationError({"parent": "Only a reseller's client has a parent reseller."})


def clean_currency_code(
    code: Any, *, field: str, current: str = "", allow_blank: bool = False
) -> str:
    """An ISO 4217 code; once the organization has set up currencies, one of its active ones.

    The value an account already holds stays acceptable after its currency is deactivated.
    """
    currency = str(code or "").strip().upper()
    if not currency:
        if allow_blank:
            return ""
        raise ValidationError({field: "Enter a three-letter ISO currency code, e.g. EUR."})
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError({field: "Enter a three-letter ISO currency code, e.g. EUR."})
    try:
        minor_units(currency)
    except ValueError:
        raise ValidationError({field: f"{currency} is not an ISO 4217 currency code."}) from None
    active = active_currency_codes()
    if active and currency not in active and currency != current:
        raise ValidationError({field: f"{currency} is not an active currency of the organization."})
    return currency


def _check_value_list(entity: str, field: str, value: str, current: str, label: str) -> None:
    if value and value != current and value not in dict(value_choices(entity, field)):
        raise ValidationError({field: f"“{value}” is not an active {label} value."})


def _as_money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter an amount, e.g. 1000.00."}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: "The amount cannot be negative."})
    return amount


def _clean_account(fields: dict[str, Any], account: Account | None) -> dict[str, Any]:
    """Normalize ``fields`` and check them against each other and the stored account."""

    def current(name: str) -> Any:
        return getattr(account, name) if account is not None else None

    def value(name: str) -> Any:
        return fields[name] if name in fields else current(name)

    if "name" in fields or account is None:
        fields["name"] = str(fields.get("name") or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": "An account needs a name."})
    _check_hierarchy(
        account_type=value("account_type") or Account.Type.DIRECT, parent=value("parent")
    )
    if "currency" in fields:
        fields["currency"] = clean_currency_code(
            fields["currency"], field="currency", current=current("currency") or ""
        )
    if "transaction_currency" in fields:
        fields["transaction_currency"] = clean_currency_code(
            fields["transaction_currency"],
            field="transaction_currency",
            current=current("transaction_currency") or "",
            allow_blank=True,
        )
    if "language" in fields:
        fields["language"] = str(fields["language"] or "")
        if fields["language"] and fields["language"] not in dict(settings.LANGUAGES):
            raise ValidationError({"language": f"“{fields['language']}” is not a language of BSS."})
    for name, label in (("industry", "industry"), ("lead_source", "lead source")):
        if name in fields:
            fields[name] = str(fields[name] or "")
            _check_value_list("account", name, fields[name], current(name) or "", label)
    manager = fields.get("account_manager")
    if manager is not None and not manager.is_active and manager != current("account_manager"):
        raise ValidationError({"account_manager": f"{manager} is not an active user."})

    if "country" in fields or "state" in fields:
        fields["country"], fields["state"] = clean_country_and_state(
            value("country") or "", value("state") or ""
        )
    if "vat_number" in fields:
        try:
            fields["vat_number"] = normalize_vat_number(
                fields["vat_number"] or "", country_code=value("country") or ""
            )
        except ValidationError as invalid:
            raise ValidationError({"vat_number": invalid.messages}) from None
    if value("is_ordering_enabled") and not value("country"):
        raise ValidationError(
            {"country": "The country is required when ordering is enabled: it is the tax basis."}
        )
    if "payment_days" in fields:
        days = fields["payment_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_PAYMENT_DAYS:
            raise ValidationError(
                {"payment_days": f"Payment terms are 0 to {MAX_PAYMENT_DAYS} days (Net 30 = 30)."}
            )
    if "credit_limit" in fields:
        fields["credit_limit"] = _as_money(fields["credit_limit"], "credit_limit")
    if "billing_day_rule" in fields or "billing_day" in fields:
        rule = value("billing_day_rule") or Account.BillingDayRule.FIRST
        day = value("billing_day")
        if rule == Account.BillingDayRule.FIXED:
            if not isinstance(day, int) or not 1 <= day <= LAST_FIXED_BILLING_DAY:
                raise ValidationError(
                    {"billing_day": "A fixed billing day is a day from 1 to 28 of the month."}
                )
        else:
            fields["billing_day"] = None
    if "billing_account" in fields or "currency" in fields:
        _check_billing_account(account, value("billing_account"), value("currency") or "EUR")
    if account is not None and "currency" in fields:
        billed = account.billed_accounts.exclude(currency=fields["currency"]).first()
        if billed is not None:
            raise ValidationError(
                {
                    "currency": f"{billed.name} is billed through this account in "
                    f"{billed.currency}; the currencies must stay the same."
                }
            )
    return fields


def _check_billing_account(account: Account | None, payer: Account | None, currency: str) -> None:
    if payer is None:
        return
    if account is not None and payer.pk == account.pk:
        raise ValidationError({"billing_account": "An account cannot be billed through itself."})
    if payer.billing_account_id is not None:
        raise ValidationError(
            {
                "billing_account": f"{payer.name} is itself billed through another account; "
                "choose the account that receives the invoices."
            }
        )
    if account is not None and account.billed_accounts.exists():
        raise ValidationError(
            {
                "billing_account": f"Other accounts are billed through {account.name}; "
                "it must receive its own invoices."
            }
        )
    if payer.currency != currency:
        raise ValidationError(
            {
                "billing_account": f"{payer.name} is billed in {payer.currency}, "
                f"this account in {currency}: invoices need one currency."
            }
        )


@transaction.atomic
def account_create(
    *, actor: Any, owner: Any = None, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Account:
    """A new account; ordering options left out take the preset of its type."""
    _check_known(fields, ACCOUNT_FIELDS, "account")
    account_type = fields.get("account_type") or Account.Type.DIRECT
    preset = preset_for(
        account_type, parent=fields.get("parent"), currency=fields.get("currency") or "EUR"
    )
    for name, value in preset.items():
        fields.setdefault(name, value)
    fields = _clean_account(fields, None)
    if "permission_rule" not in fields:
        fields["permission_rule"] = default_rule_for("account", user=actor)
    check_rule_assignable(actor=actor, entity="account", rule=fields["permission_rule"])
    cleaned_custom_data = validate_custom_data(
        "account", custom_data or {}, account_context=account_context_of(None, fields)
    )
    with acting_as(actor):
        account = Account.objects.create(
            number=next_number("account", prefix="ACC-"),
            owner=owner or actor,
            custom_data=cleaned_custom_data,
            **fields,
        )
    emit_event(
        "account.created", actor=actor, aggregate=account, payload={"number": account.number}
    )
    return account


@transaction.atomic
def account_update(
    *, actor: Any, account: Account, custom_data: dict[str, Any] | None = None, **fields: Any
) -> Account:
    _require_access(account, actor, "edit", "You may not change this account.")
    _check_known(fields, ACCOUNT_FIELDS, "account")
    fields = _clean_account(dict(fields), account)
    if "permission_rule" in fields:
        check_rule_assignable(
            actor=actor,
            entity="account",
            rule=fields["permission_rule"],
            current=account.permission_rule,
        )
    changed = [name for name, value in fields.items() if getattr(account, name) != value]
    if custom_data is not None:
        new_custom_data = validate_custom_data(
            "account",
            custom_data,
            account_context=account_context_of(account, fields),
            existing=account.custom_data,
        )
        if new_custom_data != account.custom_data:
            fields["custom_data"] = new_custom_data
            changed.append("custom_data")
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(account, name, fields[name])
            account.save(update_fields=[*changed, "updated_at"])
        emit_event("account.updated", actor=actor, aggregate=account, payload={"fields": changed})
    return account


def account_deactivate(*, actor: Any, account: Account) -> Account:
    """No new orders from now on; the account's subscriptions are left as they are."""
    return account_update(actor=actor, account=account, status=Account.Status.INACTIVE)


def account_activate(*, actor: Any, account: Account) -> Account:
    return account_update(actor=actor, account=account, status=Account.Status.ACTIVE)


def account_assign_manager(*, actor: Any, account: Account, manager: Any) -> Account:
    return account_update(actor=actor, account=account, account_manager=manager)


@transaction.atomic
def account_delete(*, actor: Any, account: Account) -> None:
    """Delete an account without transactions, with its contacts, addresses and documents."""
    _require_access(account, actor, "delete", "You may not delete this account.")
    account = Account.objects.select_for_update().get(pk=account.pk)
    found = transactions_of(account)
    if found:
        raise ValidationError(
            f"{account.name} has transactions ({', '.join(found)}) and cannot be deleted; "
            "deactivate it instead."
        )
    clients = account.clients.count()
    if clients:
        raise ValidationError(
            f"{account.name} is the reseller of {clients} client account(s); "
            "move or delete them first."
        )
    billed = account.billed_accounts.count()
    if billed:
        raise ValidationError(
            f"{billed} account(s) are billed through {account.name}; change their billing first."
        )
    stored_files = list(account.documents.values_list("file", flat=True))
    emit_event(
        "account.deleted",
        actor=actor,
        aggregate=account,
        payload={"number": account.number, "name": account.name},
    )
    with acting_as(actor):
        account.delete()
    transaction.on_commit(lambda: _delete_files(stored_files))


def _delete_files(names: Sequence[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


@transaction.atomic
def account_note_first_order(*, actor: Any, account: Account, ordered_on: date) -> bool:
    """Remember the day of the account's first order (for "day of the first order" billing).

    A conditional update: two first orders racing each other leave the earlier date.
    """
    updated = Account.objects.filter(pk=account.pk, first_order_date__isnull=True).update(
        first_order_date=ordered_on
    )
    if updated:
        account.first_order_date = ordered_on
        emit_event(
            "account.first_order",
            actor=actor,
            aggregate=account,
            payload={"ordered_on": ordered_on.isoformat()},
        )
    return bool(updated)


# ---------------------------------------------------------------------------- contacts


def _clean_contact(fields: dict[str, Any], contact: Contact | None) -> dict[str, Any]:
    def current(name: str) -> Any:
        return getattr(contact, name) if contact is not None else None

    if "last_name" in fields or contact is None:
        fields["last_name"] = str(fields.get("last_name") or "").strip()
        if not fields["last_name"]:
            raise ValidationError({"last_name": "A contact needs a last name."})
    if "first_name" in fields:
        fields["first_name"] = str(fields["first_name"] or "").strip()
    if "email" in fields or contact is None:
        email = str(fields.get("email") or "").strip().lower()
        if not email:
            raise ValidationError({"email": "A contact needs an email address."})
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": "Enter a valid email address."}) from None
        clash = Contact.objects.filter(email__iexact=email)
        if contact is not None:
            clash = clash.exclude(pk=contact.pk)
        if clash.exists():
            raise ValidationError(
                {"email": f"{email} is already the email of another contact; emails are unique."}
            )
        fields["email"] = email
    if "company_role" in fields:
        fields["company_role"] = str(fields["company_role"] or "")
        _check_value_list(
            "contact",
            "company_role",
            fields["company_role"],
            current("company_role") or "",
            "company role",
        )
    access = fields.get("has_storefront_access", current("has_storefront_access") or False)
    role = fields.get("storefront_role", current("storefront_role") or "")
    if access:
        role = role or Contact.StorefrontRole.ADMIN
        if role not in Contact.StorefrontRole.values:
            raise ValidationError({"storefront_role": f"“{role}” is not a Storefront role."})
    else:
        role = ""
    if "has_storefront_access" in fields or "storefront_role" in fields:
        fields["storefront_role"] = role
    return fields


def _take_primary(account: Account, contact: Contact | None) -> None:
    """Setting a new primary contact takes the flag from the previous one."""
    others = Contact.objects.filter(account=account, is_primary=True)
    if contact is not None and contact.pk is not None:
        others = others.exclude(pk=contact.pk)
    for previous in others:
        previous.is_primary = False
        previous.save(update_fields=["is_primary", "updated_at"])


def _record_opt_in(
    *, actor: Any, contact: Contact, opted_in: bool, source: str, origin: Mapping[str, Any]
) -> None:
    record_consent(
        actor=actor,
        kind=ConsentRecord.Kind.PERSONAL_DATA
        if opted_in
        else ConsentRecord.Kind.PERSONAL_DATA_WITHDRAWN,
        subject=OPT_IN_SUBJECT,
        account_id=contact.account_id,
        account_name=contact.account.name,
        contact_id=contact.pk,
        contact_name=contact.full_name,
        contact_email=contact.email,
        source=source,
        ip_address=origin.get("ip_address"),
        user_agent=origin.get("user_agent", ""),
        accepted_at=contact.opted_in_at if opted_in else None,
    )


@transaction.atomic
def contact_create(
    *,
    actor: Any,
    account: Account,
    custom_data: dict[str, Any] | None = None,
    consent_source: str = "BSS contact form",
    consent_origin: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Contact:
    """A new contact; an opt-in given now is written to the consent log with its source."""
    _require_access(account, actor, "edit", "You may not add contacts to this account.")
    _check_known(fields, CONTACT_FIELDS, "contact")
    account = Account.objects.select_for_update().get(pk=account.pk)
    fields = _clean_contact(dict(fields), None)
    cleaned_custom_data = validate_custom_data(
        "contact", custom_data or {}, account_context=account_context_of(account)
    )
    with acting_as(actor):
        if fields.get("is_primary"):
            _take_primary(account, None)
        contact = Contact(account=account, custom_data=cleaned_custom_data, **fields)
        if contact.has_opted_in:
            contact.opted_in_at = timezone.now()
        contact.save()
    if contact.has_opted_in:
        _record_opt_in(
            actor=actor,
            contact=contact,
            opted_in=True,
            source=consent_source,
            origin=consent_origin or {},
        )
    emit_event(
        "contact.created",
        actor=actor,
        aggregate=contact,
        payload={"account_id": account.pk, "email": contact.email},
    )
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: Any,
    contact: Contact,
    account: Account | None = None,
    custom_data: dict[str, Any] | None = None,
    consent_source: str = "BSS contact form",
    consent_origin: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Contact:
    """Change a contact; ``account`` moves it to another account (edit access to both)."""
    _require_access(contact, actor, "edit", "You may not change this contact.")
    _check_known(fields, CONTACT_FIELDS, "contact")
    moving_from: Account | None = None
    if account is not None and account.pk != contact.account_id:
        _require_access(account, actor, "edit", f"You may not move contacts to {account.name}.")
        moving_from = contact.account
        if "is_primary" not in fields:
            # A moved contact does not unseat the primary contact of its new account.
            fields["is_primary"] = False
    target = account if moving_from is not None else contact.account
    assert target is not None
    target = Account.objects.select_for_update().get(pk=target.pk)
    fields = _clean_contact(dict(fields), contact)
    changed = [name for name, value in fields.items() if getattr(contact, name) != value]
    if moving_from is not None:
        fields["account"] = target
        changed.append("account")
    if custom_data is not None:
        new_custom_data = validate_custom_data(
            "contact",
            custom_data,
            account_context=account_context_of(target),
            existing=contact.custom_data,
        )
        if new_custom_data != contact.custom_data:
            fields["custom_data"] = new_custom_data
            changed.append("custom_data")
    opt_in_changed = "has_opted_in" in changed
    if opt_in_changed:
        fields["opted_in_at"] = timezone.now() if fields["has_opted_in"] else None
        changed.append("opted_in_at")
    if not changed:
        return contact
    with acting_as(actor):
        becomes_primary = fields.get("is_primary", contact.is_primary) and (
            "is_primary" in changed or moving_from is not None
        )
        if becomes_primary:
            _take_primary(target, contact)
        for name in changed:
            setattr(contact, name, fields[name])
        contact.save(update_fields=[*changed, "updated_at"])
    if opt_in_changed:
        _record_opt_in(
            actor=actor,
            contact=contact,
            opted_in=contact.has_opted_in,
            source=consent_source,
            origin=consent_origin or {},
        )
    emit_event(
        "contact.moved" if moving_from is not None else "contact.updated",
        actor=actor,
        aggregate=contact,
        payload={"fields": changed, "from_account_id": moving_from.pk if moving_from else None},
    )
    return contact


@transaction.atomic
def contact_delete(*, actor: Any, contact: Contact) -> None:
    _require_access(contact, actor, "edit", "You may not delete this contact.")
    emit_event(
        "contact.deleted",
        actor=actor,
        aggregate=contact,
        payload={"account_id": contact.account_id, "email": contact.email},
    )
    with acting_as(actor):
        contact.delete()


# --------------------------------------------------------------------------- price lists


@transaction.atomic
def price_list_assign(
    *, actor: Any, account: Account, price_list: PriceList
) -> PriceListAssignment:
    """Assign a list of the account's currency; it prices new subscriptions from now on."""
    _require_access(account, actor, "edit", "You may not change this account's price lists.")
    if (
        actor is not None
        and not visible_records(PriceList.objects.filter(pk=price_list.pk), actor).exists()
    ):
        raise ValidationError({"price_list": "Unknown price list."})
    if price_list.currency != account.currency:
        raise ValidationError(
            {
                "price_list": f"{price_list.name} is in {price_list.currency}; "
                f"the account is billed in {account.currency}."
            }
        )
    if not price_list.is_active:
        raise ValidationError({"price_list": f"{price_list.name} is inactive."})
    if PriceListAssignment.objects.filter(account=account, price_list=price_list).exists():
        raise ValidationError({"price_list": f"{price_list.name} is already assigned."})
    try:
        with transaction.atomic(), acting_as(actor):
            assignment = PriceListAssignment.objects.create(
                account=account,
                price_list=price_list,
                assigned_at=timezone.now(),
                assigned_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ValidationError({"price_list": f"{price_list.name} is already assigned."}) from None
    emit_event(
        "account.price_list_assigned",
        actor=actor,
        aggregate=account,
        payload={"price_list_id": price_list.pk, "name": price_list.name},
    )
    return assignment


@transaction.atomic
def price_list_deassign(*, actor: Any, assignment: PriceListAssignment) -> None:
    """Existing subscriptions keep their prices; only new ones stop using the list."""
    account = assignment.account
    _require_access(account, actor, "edit", "You may not change this account's price lists.")
    emit_event(
        "account.price_list_deassigned",
        actor=actor,
        aggregate=account,
        payload={"price_list_id": assignment.price_list_id},
    )
    with acting_as(actor):
        assignment.delete()


# ------------------------------------------------------------------------------- rebates


@transaction.atomic
def rebate_term_save(
    *,
    actor: Any,
    account: Account,
    term: RebateTerm | None = None,
    applies_to: str,
    period: str,
    mode: str,
    tiers: Sequence[Tier],
    products: Sequence[Product] = (),
) -> RebateTerm:
    """Create or replace a rebate term with its tiers.

    Several terms on one account must differ in Applies To or in For.
    """
    _require_access(account, actor, "edit", "You may not change this account's rebates.")
    if term is not None and term.account_id != account.pk:
        raise ValidationError("The rebate term belongs to another account.")
    if applies_to not in RebateTerm.AppliesTo.values:
        raise ValidationError({"applies_to": f"“{applies_to}” is not a rebate scope."})
    if period not in RebateTerm.Period.values:
        raise ValidationError({"period": f"“{period}” is not a rebate period."})
    if mode not in RebateTerm.Mode.values:
        raise ValidationError({"mode": f"“{mode}” is not a rebate mode."})
    ordered = check_tiers(tiers)
    products = list(products)
    if applies_to == RebateTerm.AppliesTo.PRODUCTS and not products:
        raise ValidationError({"products": "Choose the products the rebate applies to."})
    if applies_to == RebateTerm.AppliesTo.ALL:
        products = []
    account = Account.objects.select_for_update().get(pk=account.pk)
    clash = RebateTerm.objects.filter(account=account, applies_to=applies_to, period=period)
    if term is not None:
        clash = clash.exclude(pk=term.pk)
    if clash.exists():
        raise ValidationError(
            {
                "period": "The account already has a rebate term with the same Applies To and "
                "For; several terms must differ in one of them."
            }
        )
    with acting_as(actor):
        if term is None:
            term = RebateTerm.objects.create(
                account=account, applies_to=applies_to, period=period, mode=mode
            )
            event = "rebate_term.created"
        else:
            term.applies_to, term.period, term.mode = applies_to, period, mode
            term.save(update_fields=["applies_to", "period", "mode", "updated_at"])
            term.tiers.all().delete()
            event = "rebate_term.updated"
        term.products.set(products)
        RebateTier.objects.bulk_create(
            RebateTier(
                term=term,
                from_amount=tier.from_amount,
                to_amount=tier.to_amount,
                percent=tier.percent,
            )
            for tier in ordered
        )
    emit_event(
        event,
        actor=actor,
        aggregate=term,
        payload={
            "account_id": account.pk,
            "applies_to": applies_to,
            "period": period,
            "mode": mode,
        },
    )
    return term


@transaction.atomic
def rebate_term_delete(*, actor: Any, term: RebateTerm) -> None:
    _require_access(term.account, actor, "edit", "You may not change this account's rebates.")
    emit_event(
        "rebate_term.deleted", actor=actor, aggregate=term, payload={"account_id": term.account_id}
    )
    with acting_as(actor):
        term.delete()


# ------------------------------------------------------------------------------ settings


@transaction.atomic
def customer_settings_update(
    *,
    actor: Any,
    address_validation: str,
    document_types: Sequence[str],
    document_max_size_mb: int,
    default_file_space_mb: int,
) -> CustomerSettings:
    if address_validation not in AddressValidationMode.values:
        raise ValidationError({"address_validation": f"“{address_validation}” is not a mode."})
    types = sorted(
        {str(kind).strip().lower().lstrip(".") for kind in document_types if str(kind).strip()}
    )
    unknown = [kind for kind in types if kind not in KNOWN_TYPES]
    if unknown:
        raise ValidationError(
            {
                "document_types": f"Not a file type BSS can check by content: {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(KNOWN_TYPES))}."
            }
        )
    if not types:
        raise ValidationError({"document_types": "Allow at least one file type."})
    if document_max_size_mb < 1:
        raise ValidationError({"document_max_size_mb": "The maximum size is at least 1 MB."})
    values = {
        "address_validation": address_validation,
        "document_types": types,
        "document_max_size_mb": document_max_size_mb,
        "default_file_space_mb": default_file_space_mb,
    }
    with acting_as(actor):
        found, _created = CustomerSettings.objects.select_for_update().get_or_create(
            pk=CustomerSettings.SINGLETON_PK, defaults=values
        )
        changed = [name for name, value in values.items() if getattr(found, name) != value]
        for name in changed:
            setattr(found, name, values[name])
        if changed:
            found.save(update_fields=[*changed, "updated_at"])
    emit_event(
        "customer_settings.updated", actor=actor, aggregate=found, payload={"fields": changed}
    )
    return found


@transaction.atomic
def user_file_quota_set(*, actor: Any, user: Any, limit_mb: int | None) -> UserFileQuota | None:
    """Give a user their own file-space limit, or (None) return them to the default."""
    with acting_as(actor):
        if limit_mb is None:
            UserFileQuota.objects.filter(user=user).delete()
            quota = None
        else:
            if limit_mb < 0:
                raise ValidationError({"limit_mb": "The limit cannot be negative."})
            quota, _created = UserFileQuota.objects.update_or_create(
                user=user, defaults={"limit_mb": limit_mb}
            )
    emit_event("user_file_quota.set", actor=actor, aggregate=user, payload={"limit_mb": limit_mb})
    return quota
