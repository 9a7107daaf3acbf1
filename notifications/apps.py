from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bss.core.events import subscribe
        from bss.core.registry import MenuEntry, register_setup_entry
        from notifications import services
        from notifications.event_catalogue import KNOWN_EVENTS
        from notifications.merge_fields import providers, register_builtin_providers
        from notifications.models import EmailSettings, NotificationTemplate, TemplateText

        auditlog.register(
            EmailSettings,
            exclude_fields=[
                "smtp_password_encrypted",
                "client_secret_encrypted",
                "refresh_token_encrypted",
                "oauth_state",
                "updated_at",
            ],
        )
        auditlog.register(NotificationTemplate, exclude_fields=["updated_at"])
        auditlog.register(TemplateText)
        register_builtin_providers()
        # The handler hears the events a template may name, and the created, updated
        # and deleted events of each entity; it matches templates with one query.
        names = set(KNOWN_EVENTS)
        for provider in providers():
            for trigger in ("created", "updated", "deleted"):
                names.update(provider.trigger_events(trigger))
        for name in sorted(names):
            subscribe(name, services.handle_event)
        for entry in [
            MenuEntry(
                "setup",
                _("Organization profile: email preferences"),
                "notifications:email_settings",
                "notifications",
                "manage",
                icon="envelope-at",
                order=6,
            ),
            MenuEntry(
                "setup",
                _("Customer notifications"),
                "notifications:template_list",
                "notifications",
                "view",
                icon="bell",
                order=70,
            ),
            MenuEntry(
                "setup",
                _("Notification logs"),
                "notifications:message_list",
                "notifications",
                "view",
                icon="envelope-paper",
                order=71,
            ),
        ]:
            register_setup_entry(entry)
