"""Who gets a message: roles resolved against the record, plus fixed people and addresses.

A recipient entry is a string: ``role:<name>`` (account manager, primary contact, bill-to
contacts, the record's contact, the account's email, the acting user, the contacts the
event names), ``user:<id>``,
``group:<id>`` (every active user of the group) or ``email:<address>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Model
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

ROLES = [
    ("role:account_manager", _("Account manager")),
    ("role:primary_contact", _("Primary contact")),
    ("role:bill_to_contacts", _("Bill-to contacts")),
    ("role:record_contact", _("The record's contact")),
    ("role:account_email", _("The account's email")),
    ("role:acting_user", _("The acting user")),
    ("role:event_recipients", _("The contacts chosen when the event happened")),
]
ROLE_CODES = {code for code, _label in ROLES}
KINDS = ("to", "cc", "bcc")


@dataclass
class RecipientContext:
    account: Model | None
    contact: Model | None
    actor: Any
    event: Any = None


EVENT_RECIPIENTS = "role:event_recipients"


def event_recipient_addresses(event: Any) -> list[str]:
    """The addresses an event names under ``recipients`` (e.g. the contacts an offer was
    shared with), as given; empty when it names none."""
    named = (getattr(event, "payload", None) or {}).get("recipients") or []
    return [str(address) for address in named if isinstance(address, str) and address]


def validate_entry(entry: str) -> str:
    entry = entry.strip()
    kind, _sep, value = entry.partition(":")
    if entry in ROLE_CODES:
        return entry
    if kind in ("user", "group") and value.isdigit():
        return entry
    if kind == "email":
        try:
            validate_email(value)
        except ValidationError as error:
            raise ValidationError(
                _t("%(value)s is not a valid email address.") % {"value": value}
            ) from error
        return f"email:{value.lower()}"
    raise ValidationError(_t("Unknown recipient %(entry)s.") % {"entry": entry})


def _addresses_of_role(role: str, context: RecipientContext) -> list[str]:
    account = context.account
    if role == "role:account_manager":
        manager = getattr(account, "account_manager", None)
        return [manager.email] if manager is not None and manager.is_active else []
    if role == "role:account_email":
        return [account.email] if account is not None and account.email else []
    if role == "role:acting_user":
        actor = context.actor
        return [actor.email] if getattr(actor, "email", "") else []
    if role == EVENT_RECIPIENTS:
        # Only addresses of the account's own contacts: a payload never reaches a stranger.
        named = event_recipient_addresses(context.event)
        if account is None or not named:
            return []
        known = {
            address.lower(): address
            for address in account.contacts.exclude(email="").values_list("email", flat=True)
        }
        return [known[address.lower()] for address in named if address.lower() in known]
    if role == "role:record_contact":
        contact = context.contact
        return [contact.email] if contact is not None and contact.email else []
    if account is None:
        return []
    contacts = account.contacts.exclude(email="")
    if role == "role:primary_contact":
        return list(contacts.filter(is_primary=True).values_list("email", flat=True))
    if role == "role:bill_to_contacts":
        return list(contacts.filter(is_bill_to=True).order_by("pk").values_list("email", flat=True))
    return []


def resolve(entries: list[str], context: RecipientContext) -> list[str]:
    """The addresses of the entries, each once, in the order given."""
    from bss.setup.models import User

    addresses: list[str] = []
    for entry in entries:
        kind, _sep, value = entry.partition(":")
        if kind == "role":
            found = _addresses_of_role(entry, context)
        elif kind == "user":
            found = list(
                User.objects.filter(pk=value, is_active=True).values_list("email", flat=True)
            )
        elif kind == "group":
            found = list(
                User.objects.filter(roles__pk=value, is_active=True)
                .order_by("pk")
                .values_list("email", flat=True)
            )
        elif kind == "email":
            found = [value]
        else:
            found = []
        for address in found:
            if address and address.lower() not in {known.lower() for known in addresses}:
                addresses.append(address)
    return addresses
