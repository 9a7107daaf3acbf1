from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        from accounts import registry
        from subscriptions import lifecycle_registry, selectors, wiring
        from subscriptions import provisioning_tasks as _tasks  # noqa: F401 - registers the tasks

        registry.register_figure_provider("monthly_run_rate", selectors.monthly_run_rate)
        registry.register_figure_provider("annual_subscriptions", selectors.annual_run_rate)
        wiring.register()
        lifecycle_registry.register()
