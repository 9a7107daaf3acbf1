"""What trials, customer requests and the quantity report add at start-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
    """Called from SubscriptionsConfig.ready()."""
    from accounts.registry import AccountPanel, register_account_panel
    from bss.core.dashboard import register_dashboard_panel
    from bss.core.registry import MenuEntry, register_menu_entry
    from subscriptions import lifecycle_tasks as _tasks  # noqa: F401 - registers the Celery tasks
    from subscriptions import reports
    from subscriptions.views_requests import pending_requests_panel
    from subscriptions.views_trials import account_trials_panel

    reports.register()
    register_dashboard_panel(pending_requests_panel)
    register_account_panel(
        AccountPanel(
            key="trials",
            title=_("Trials"),
            module="subscriptions",
            render=account_trials_panel,
            order=40,
        )
    )
    for entry in (
        MenuEntry(
            "billing",
            _("Trials"),
            "lifecycle:trial_list",
            "subscriptions",
            icon="hourglass-split",
            order=32,
        ),
        MenuEntry(
            "billing",
            _("Pending cancellation requests"),
            "lifecycle:request_queue",
            "subscriptions",
            "approve_requests",
            icon="x-octagon",
            order=33,
        ),
    ):
        register_menu_entry(entry)
