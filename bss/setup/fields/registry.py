"""What the fields area adds to menus and hooks at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from auditlog.registry import auditlog

    from bss.core.custom_fields import register_custom_field_source
    from bss.core.registry import MenuEntry, register_setup_entry
    from bss.setup.fields.selectors import active_custom_fields
    from bss.setup.models import CustomFieldDefinition, SystemFieldValue

    auditlog.register(CustomFieldDefinition)
    auditlog.register(SystemFieldValue)
    register_custom_field_source(active_custom_fields)
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Systemic and custom fields"),
            "setup:field_home",
            "setup",
            "view",
            icon="ui-checks-grid",
            order=40,
        )
    )
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Custom fields"),
            "setup:custom_field_list",
            "setup",
            "view",
            icon="input-cursor-text",
            order=45,
        )
    )
