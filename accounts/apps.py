from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from accounts import dashboard
        from accounts.models import (
            Account,
            Address,
            Contact,
            CustomerSettings,
            Document,
            PriceListAssignment,
            RebateTerm,
            RebateTier,
            UserFileQuota,
        )
        from bss.core.entities import register_entity_model
        from bss.core.registry import (
            MenuEntry,
            QuickCreateEntry,
            SearchProvider,
            register_menu_entry,
            register_quick_create,
            register_search_provider,
            register_setup_entry,
        )
        from bss.setup.fields.value_lists import ValueList, register_value_list

        auditlog.register(Account)
        auditlog.register(Contact)
        auditlog.register(Address)
        auditlog.register(PriceListAssignment)
        auditlog.register(RebateTerm, m2m_fields={"products"})
        auditlog.register(RebateTier)
        auditlog.register(Document, exclude_fields=["sha256"])
        auditlog.register(CustomerSettings, exclude_fields=["updated_at"])
        auditlog.register(UserFileQuota)
        register_entity_model("account", Account)
        register_entity_model("contact", Contact)
        register_entity_model("document", Document)
        register_value_list(
            ValueList(
                "document",
                "stage",
                _("Status"),
                (
                    ("draft", "Draft"),
                    ("in_review", "In review"),
                    ("approved", "Approved"),
                    ("signed", "Signed"),
                    ("archived", "Archived"),
                ),
                starting_default="draft",
            )
        )
        register_value_list(
            ValueList(
                "document",
                "document_type",
                _("Type"),
                (
                    ("contract", "Contract"),
                    ("order_form", "Order form"),
                    ("invoice", "Invoice"),
                    ("technical", "Technical document"),
                    ("identification", "Company registration"),
                    ("other", "Other"),
                ),
                starting_default="contract",
            )
        )
        register_menu_entry(
            MenuEntry(
                "office", _("Accounts"), "accounts:list", "accounts", icon="buildings", order=10
            )
        )
        register_menu_entry(
            MenuEntry(
                "office",
                _("Contacts"),
                "accounts:contact_list",
                "contacts",
                icon="person-lines-fill",
                order=12,
            )
        )
        register_quick_create(
            QuickCreateEntry(
                _("New account"), "accounts:create", "accounts", icon="building-add", order=10
            )
        )
        register_quick_create(
            QuickCreateEntry(
                _("New contact"),
                "accounts:contact_create",
                "contacts",
                icon="person-plus",
                order=12,
            )
        )
        register_setup_entry(
            MenuEntry(
                "setup",
                _("Customers & documents"),
                "accounts:settings",
                "setup",
                "manage",
                icon="person-vcard",
                order=40,
            )
        )
        register_search_provider(
            SearchProvider(
                label=_("Accounts"),
                module="accounts",
                queryset=lambda: Account.objects.all(),
                number_field="number",
                name_fields=("name", "vat_number"),
                describe=lambda account: f"{account.number} · {account.name}",
                url=lambda account: account.get_absolute_url(),
            )
        )
        register_search_provider(
            SearchProvider(
                label=_("Contacts"),
                module="contacts",
                queryset=lambda: Contact.objects.select_related("account"),
                number_field="email",
                name_fields=("last_name", "first_name", "email"),
                describe=lambda contact: f"{contact.full_name} · {contact.account.name}",
                url=lambda contact: contact.get_absolute_url(),
            )
        )
        dashboard.register()
