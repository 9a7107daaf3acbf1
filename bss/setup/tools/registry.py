"""What the tools area adds to menus, search and hooks at start-up."""

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SetupConfig.ready()."""
    from bss.core.registry import MenuEntry, register_setup_entry
    from bss.setup.tools import builtin
    from bss.setup.tools import tasks as _tasks  # noqa: F401 - registers the task with Celery

    builtin.register()
    for entry in (
        MenuEntry(
            "setup", _("Tools"), "setup:tool_list", "setup", "run_tools", icon="tools", order=80
        ),
        MenuEntry(
            "setup",
            _("Consent log"),
            "core:consent_log",
            "setup",
            "audit",
            icon="patch-check",
            order=91,
        ),
    ):
        register_setup_entry(entry)
