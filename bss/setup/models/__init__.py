"""Setup's tables, one module per area."""

from bss.setup.models.fields import CustomFieldDefinition, SystemFieldValue
from bss.setup.models.i18n import LanguageSetting, TranslationOverride
from bss.setup.models.organization import Currency, ExchangeRate, Organization
from bss.setup.models.rules import PermissionRule, RuleGrant, RuleModule, RuleSharing
from bss.setup.models.tools import ToolRun
from bss.setup.models.users import Role, User, UserManager

__all__ = [
    "Currency",
    "CustomFieldDefinition",
    "ExchangeRate",
    "LanguageSetting",
    "Organization",
    "PermissionRule",
    "Role",
    "RuleGrant",
    "RuleModule",
    "RuleSharing",
    "SystemFieldValue",
    "ToolRun",
    "TranslationOverride",
    "User",
    "UserManager",
]
