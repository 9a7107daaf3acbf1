"""What the rules area adds to menus and hooks at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from auditlog.registry import auditlog

    from bss.core.registry import MenuEntry, register_setup_entry
    from bss.core.visibility import register_grant_filter
    from bss.setup.models import PermissionRule, RuleGrant, RuleModule, RuleSharing
    from bss.setup.rules.selectors import rule_grant_filter

    for model in (PermissionRule, RuleModule, RuleGrant, RuleSharing):
        auditlog.register(model)
    register_grant_filter(rule_grant_filter)
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Permission rules"),
            "setup:rule_list",
            "setup",
            "view",
            icon="shield-check",
            order=30,
        )
    )
