"""Demo users, one per role, and the groups that give each role its rights."""

from __future__ import annotations

from typing import Any

from bss.core.permissions import MODULES
from bss.setup import services
from bss.setup.currencies.seed import seed_currencies
from bss.setup.fields.seed import seed_value_lists
from bss.setup.models import Role, User

DEMO_PASSWORD = "demo-pass-2026"
ORDER = 10


def _all(
    *modules: str, actions: tuple[str, ...] = ("view", "create", "edit", "delete")
) -> list[str]:
    codes = []
    for code in modules:
        module = MODULES[code]
        codes += [
            f"{code}.{action}"
            for action, _label in module.actions
            if action in actions or action not in ("view", "create", "edit", "delete")
        ]
    return codes


DEMO_ROLES = {
    "Sales": (
        "Account managers: customers, offers and orders.",
        [
            *_all("accounts", "contacts", "documents", "offers", "orders"),
            "products.view",
            "price_lists.view",
            "subscriptions.view",
            "invoices.view",
            "reports.view",
        ],
    ),
    "Finance": (
        "Billing runs, invoices, credit notes and payments.",
        [
            *_all("invoices", "payments"),
            "accounts.view",
            "accounts.edit",
            "contacts.view",
            "subscriptions.view",
            "orders.view",
            "products.view",
            "price_lists.view",
            "reports.view",
        ],
    ),
    "Support": (
        "Cases and a read-only view of customers and what they bought.",
        [
            *_all("cases"),
            "accounts.view",
            "contacts.view",
            "subscriptions.view",
            "invoices.view",
            "products.view",
        ],
    ),
}

DEMO_USERS = [
    ("admin@example.com", "Alex", "Admin", None),
    ("sales@example.com", "Sam", "Seller", "Sales"),
    ("finance@example.com", "Fay", "Finance", "Finance"),
    ("support@example.com", "Stella", "Support", "Support"),
]


def seed(stdout: Any) -> None:
    seed_currencies(stdout)
    roles = {}
    for name, (description, permissions) in DEMO_ROLES.items():
        existing = Role.objects.filter(name=name).first()
        roles[name] = existing or services.role_save(
            actor=None, name=name, description=description, permissions=permissions
        )
    for email, first_name, last_name, role_name in DEMO_USERS:
        if User.objects.filter(email=email).exists():
            continue
        services.user_create(
            actor=None,
            email=email,
            password=DEMO_PASSWORD,
            first_name=first_name,
            last_name=last_name,
            is_superuser=role_name is None,
            roles=[roles[role_name]] if role_name else [],
        )
        stdout.write(f"  user {email} / {DEMO_PASSWORD}")
    seed_value_lists(stdout)
