"""What the languages area adds to menus, search and hooks at start-up."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from auditlog.registry import auditlog

    from bss.core import translation
    from bss.core.registry import MenuEntry, register_setup_entry
    from bss.setup.languages.selectors import (
        default_language_code,
        enabled_language_codes,
        load_override_catalogs,
    )
    from bss.setup.models import LanguageSetting, TranslationOverride

    auditlog.register(LanguageSetting)
    auditlog.register(TranslationOverride, exclude_fields=["updated_at"])
    translation.set_language_policy(enabled=enabled_language_codes, default=default_language_code)
    translation.set_override_loader(load_override_catalogs)
    translation.install()
    register_setup_entry(
        MenuEntry(
            "setup",
            _("Languages"),
            "setup:language_list",
            "setup",
            "view",
            icon="translate",
            order=50,
        )
    )
