"""Demo data hook: the system notifications come from a migration; this puts back any
that were deleted from the database by hand, and changes nothing else."""

from __future__ import annotations

from typing import Any

ORDER = 900


def seed(stdout: Any) -> None:
    from notifications.models import NotificationTemplate, TemplateText
    from notifications.system import install_system_templates

    added = install_system_templates(NotificationTemplate, TemplateText)
    if added:
        stdout.write(f"Notifications: {added} system notifications restored.")
