"""A demo customer base: direct customers, resellers and their clients, with contacts,
billing addresses in five countries, ordering options per type and reseller price lists.

Idempotent: accounts are found by name, contacts by email; only what is missing is added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts import services
from accounts.addresses import address_create
from accounts.models import Account, Contact, PriceListAssignment
from bss.setup.models import User
from catalogue.models import PriceList

ORDER = 30


@dataclass(frozen=True)
class Place:
    country: str
    street: str
    postal_code: str
    city: str
    area: str = ""
    state: str = ""


@dataclass(frozen=True)
class Customer:
    name: str
    currency: str
    email: str
    place: Place
    vat_number: str = ""
    industry: str = ""
    lead_source: str = "website"
    contacts: tuple[tuple[str, str, str], ...] = ()
    clients: tuple[Customer, ...] = field(default=())


ATHENS = Place("GR", "Ermou 56", "105 63", "Athens")
DIRECT = [
    Customer(
        "Northwind Traders",
        "EUR",
        "info@northwind.example",
        Place("DE", "Friedrichstraße 68", "10117", "Berlin"),
        "DE811907980",
        "retail",
        "trade_show",
        (("Anna", "Schmidt", "decision_maker"), ("Jonas", "Weber", "billing")),
    ),
    Customer(
        "Aegean Logistics S.A.",
        "EUR",
        "it@aegeanlog.example",
        Place("GR", "Akti Miaouli 81", "185 38", "Piraeus"),
        "EL094259216",
        "logistics",
        "referral",
        (("Giorgos", "Papadopoulos", "technical"), ("Maria", "Nikolaou", "billing")),
    ),
    Customer(
        "Blue Harbor Analytics Ltd",
        "GBP",
        "ops@blueharbor.example",
        Place("GB", "1 Canada Square", "E14 5AB", "London"),
        "GB123456789",
        "professional_services",
        "email_campaign",
        (("Oliver", "Hughes", "decision_maker"),),
    ),
    Customer(
        "Pinecrest Medical Group",
        "USD",
        "admin@pinecrest.example",
        Place("US", "500 Terry A Francois Blvd", "94158", "San Francisco", "CA", "US-CA"),
        "",
        "healthcare",
        "marketplace",
        (("Emily", "Carter", "procurement"), ("Daniel", "Brooks", "technical")),
    ),
    Customer(
        "Helios Solar GmbH",
        "EUR",
        "it@helios-solar.example",
        Place("DE", "Maximilianstraße 13", "80539", "München"),
        "DE129273398",
        "energy",
        "website",
        (("Lena", "Fischer", "technical"),),
    ),
    Customer(
        "Lumière Conseil SARL",
        "EUR",
        "contact@lumiere-conseil.example",
        Place("FR", "12 Rue de Rivoli", "75004", "Paris"),
        "FR40303265045",
        "professional_services",
        "partner",
        (("Camille", "Durand", "decision_maker"), ("Hugo", "Martin", "billing")),
    ),
]
RESELLERS = [
    Customer(
        "CloudMates Partners",
        "EUR",
        "partners@cloudmates.example",
        Place("GR", "Leoforos Kifisias 44", "151 25", "Marousi"),
        "EL801234567",
        "information_technology",
        "partner",
        (("Dimitris", "Alexiou", "executive_sponsor"), ("Sofia", "Karali", "billing")),
        clients=(
            Customer(
                "Olive Grove Hotels",
                "EUR",
                "hotel-it@olivegrove.example",
                Place("GR", "Vasilissis Sofias 2", "106 74", "Athens"),
                "EL998877665",
                "hospitality",
                "partner",
                (("Eleni", "Papadaki", "decision_maker"),),
            ),
            Customer(
                "Athens Legal Associates",
                "EUR",
                "office@athenslegal.example",
                ATHENS,
                "EL123123123",
                "professional_services",
                "partner",
                (("Kostas", "Vlachos", "technical"),),
            ),
            Customer(
                "Kappa Architects",
                "EUR",
                "studio@kappa.example",
                Place("GR", "Tsimiski 45", "546 23", "Thessaloniki"),
                "EL456456456",
                "professional_services",
                "partner",
                (("Irini", "Kappa", "decision_maker"),),
            ),
        ),
    ),
    Customer(
        "Bytebridge Distribution",
        "GBP",
        "sales@bytebridge.example",
        Place("GB", "20 Deansgate", "M3 1RH", "Manchester"),
        "GB987654321",
        "information_technology",
        "partner",
        (("Harry", "Patel", "executive_sponsor"),),
        clients=(
            Customer(
                "Thames Retail Co",
                "GBP",
                "it@thamesretail.example",
                Place("GB", "88 Kings Road", "SW3 4TZ", "London"),
                "",
                "retail",
                "partner",
                (("Amelia", "Clarke", "technical"),),
            ),
            Customer(
                "Brighton Dental Care",
                "GBP",
                "practice@brightondental.example",
                Place("GB", "5 North Street", "BN1 1EA", "Brighton"),
                "",
                "healthcare",
                "partner",
                (("Jack", "Turner", "decision_maker"),),
            ),
        ),
    ),
]
RESELLER_PRICE_LISTS = {"EUR": "Resellers EUR (-20 %)", "GBP": "Resellers GBP (-20 %)"}


def _ensure_account(customer: Customer, owner: User, manager: User, **fields: Any) -> Account:
    existing = Account.objects.filter(name=customer.name).first()
    if existing is not None:
        return existing
    return services.account_create(
        actor=owner,
        owner=owner,
        name=customer.name,
        currency=customer.currency,
        email=customer.email,
        vat_number=customer.vat_number,
        industry=customer.industry,
        lead_source=customer.lead_source,
        account_manager=manager,
        is_ordering_enabled=True,
        country=customer.place.country,
        state=customer.place.state,
        **fields,
    )


def _ensure_address(account: Account, customer: Customer, actor: User) -> None:
    if account.addresses.exists():
        return
    place = customer.place
    address_create(
        actor=actor,
        account=account,
        kind="billing",
        company_name=customer.name,
        street_address=place.street,
        city=place.city,
        postal_code=place.postal_code,
        country_area=place.area,
        country_code=place.country,
    )


def _ensure_contacts(account: Account, customer: Customer, actor: User) -> None:
    domain = customer.email.split("@", 1)[1]
    for position, (first, last, role) in enumerate(customer.contacts):
        email = f"{first}.{last}@{domain}".lower()
        if Contact.objects.filter(email=email).exists():
            continue
        services.contact_create(
            actor=actor,
            account=account,
            first_name=first,
            last_name=last,
            company_role=role,
            email=email,
            is_primary=position == 0,
            is_bill_to=role == "billing" or len(customer.contacts) == 1,
            has_opted_in=position == 0,
            has_storefront_access=position == 0,
            storefront_role="admin" if position == 0 else "",
            consent_source="Demo data",
        )


def _assign_reseller_list(reseller: Account, actor: User) -> None:
    name = RESELLER_PRICE_LISTS.get(reseller.currency)
    price_list = PriceList.objects.filter(name=name).first() if name else None
    if price_list is None or PriceListAssignment.objects.filter(account=reseller).exists():
        return
    services.price_list_assign(actor=actor, account=reseller, price_list=price_list)


def _complete(account: Account, customer: Customer, actor: User) -> None:
    _ensure_address(account, customer, actor)
    _ensure_contacts(account, customer, actor)


def seed(stdout: Any) -> None:
    sales = User.objects.get(email="sales@example.com")
    admin = User.objects.get(email="admin@example.com")
    for customer in DIRECT:
        account = _ensure_account(customer, sales, sales, account_type=Account.Type.DIRECT)
        _complete(account, customer, admin)
    for reseller_data in RESELLERS:
        reseller = _ensure_account(
            reseller_data,
            admin,
            sales,
            account_type=Account.Type.RESELLER,
            credit_limit=Decimal("50000.00"),
        )
        _complete(reseller, reseller_data, admin)
        _assign_reseller_list(reseller, admin)
        for client_data in reseller_data.clients:
            client = _ensure_account(
                client_data, admin, sales, account_type=Account.Type.CLIENT, parent=reseller
            )
            _complete(client, client_data, admin)
    stdout.write(
        f"  {Account.objects.count()} accounts, {Contact.objects.count()} contacts, "
        f"{PriceListAssignment.objects.count()} price-list assignments"
    )
