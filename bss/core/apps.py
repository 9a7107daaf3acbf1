from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "bss.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from bss.core.dashboard import register_core_panels

        register_core_panels()
