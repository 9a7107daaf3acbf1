"""What billing reads about a customer, in one place.

Everything the engine knows of an account (currency, terms, tax basis, where it is)
comes through ``profile_for``; the frozen name and address printed on an invoice come
through ``customer_snapshot``. When the accounts module changes what it offers, this
module is the only one to adapt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import Account, Address
from accounts.selectors import BillingProfile, billing_profile
from bss.setup.organization.selectors import organization

__all__ = [
    "BillingProfile",
    "CustomerSnapshot",
    "customer_snapshot",
    "profile_for",
    "seller_details",
]


def profile_for(account: Account) -> BillingProfile:
    return billing_profile(account)


def transaction_currency_of(account: Account) -> str:
    """The second currency the billing account transacts in, or "" (same as its currency)."""
    code = (getattr(account, "transaction_currency", "") or "").upper()
    return "" if code == account.currency else code


@dataclass(frozen=True)
class CustomerSnapshot:
    number: str
    name: str
    address: str
    country: str
    state: str
    vat_number: str
    language: str


def first_billing_address(account: Account) -> Address | None:
    return account.addresses.filter(kind="billing").first()


def _billing_address_lines(account: Account, address: Address | None) -> tuple[str, str, str]:
    """(address text, country, state) of the account's billing address, if it has one."""
    if address is None:
        return "", "", ""
    locality = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [
        address.company_name,
        address.name,
        *address.street_address.splitlines(),
        address.city_area,
        locality,
        address.country_area,
    ]
    text = "\n".join(line.strip() for line in lines if line and line.strip())
    return text, address.country_code, address.country_area


_LOOK_UP = object()


def customer_snapshot(account: Account, *, billing_address: Any = _LOOK_UP) -> CustomerSnapshot:
    """Who the invoice is addressed to, as it must stay once issued.

    The bulk billing path passes the billing address it loaded for many accounts at once
    (``first_billing_address`` decides which one counts); None means the account has none.
    """
    profile = profile_for(account)
    if billing_address is _LOOK_UP:
        billing_address = first_billing_address(account)
    address, address_country, address_state = _billing_address_lines(account, billing_address)
    return CustomerSnapshot(
        number=account.number,
        name=account.name,
        address=address,
        country=(profile.country or address_country).upper(),
        state=(profile.state or address_state).upper(),
        vat_number=profile.vat_number,
        language=profile.language or organization().default_language,
    )


def seller_details() -> dict[str, str]:
    """The organization as printed on an invoice, frozen at issue with it."""
    profile = organization()
    return {
        "legal_name": profile.legal_name,
        "address_line1": profile.address_line1,
        "address_line2": profile.address_line2,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "country": profile.country,
        "tax_id": profile.tax_id,
        "email": profile.email,
        "phone": profile.phone,
    }
