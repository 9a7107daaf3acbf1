"""What the organization area adds to menus, search and hooks at start-up."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from auditlog.registry import auditlog

    from bss.core.registry import MenuEntry, register_layout_context, register_setup_entry
    from bss.setup.models import Organization
    from bss.setup.organization import memo
    from bss.setup.organization.selectors import layout_context

    memo.connect()
    register_layout_context(layout_context)
    auditlog.register(Organization, exclude_fields=["updated_at"])
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Organization profile"),
            "setup:organization",
            "setup",
            "view",
            icon="building",
            order=5,
        )
    )
