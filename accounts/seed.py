"""A demo customer base: direct customers, resellers and their clients."""

from __future__ import annotations

from typing import Any

from accounts import services
from accounts.models import Account
from bss.setup.models import User

ORDER = 30

DIRECT = [
    ("Northwind Traders", "EUR", "info@northwind.example"),
    ("Aegean Logistics S.A.", "EUR", "it@aegeanlog.example"),
    ("Blue Harbor Analytics Ltd", "GBP", "ops@blueharbor.example"),
    ("Pinecrest Medical Group", "USD", "admin@pinecrest.example"),
    ("Helios Solar GmbH", "EUR", "it@helios-solar.example"),
]
RESELLERS = {
    ("CloudMates Partners", "EUR", "partners@cloudmates.example"): [
        ("Olive Grove Hotels", "hotel-it@olivegrove.example"),
        ("Athens Legal Associates", "office@athenslegal.example"),
        ("Kappa Architects", "studio@kappa.example"),
    ],
    ("Bytebridge Distribution", "GBP", "sales@bytebridge.example"): [
        ("Thames Retail Co", "it@thamesretail.example"),
        ("Brighton Dental Care", "practice@brightondental.example"),
    ],
}


def _ensure(name: str, owner: User, **fields: Any) -> Account:
    existing = Account.objects.filter(name=name).first()
    return existing or services.account_create(actor=owner, owner=owner, name=name, **fields)


def seed(stdout: Any) -> None:
    sales = User.objects.get(email="sales@example.com")
    admin = User.objects.get(email="admin@example.com")
    for name, currency, email in DIRECT:
        _ensure(name, sales, account_type=Account.Type.DIRECT, currency=currency, email=email)
    for (name, currency, email), clients in RESELLERS.items():
        reseller = _ensure(
            name, admin, account_type=Account.Type.RESELLER, currency=currency, email=email
        )
        for client_name, client_email in clients:
            _ensure(
                client_name,
                admin,
                account_type=Account.Type.CLIENT,
                parent=reseller,
                currency=currency,
                email=client_email,
            )
    stdout.write(f"  {Account.objects.count()} accounts")
