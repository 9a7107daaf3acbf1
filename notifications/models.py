"""Notifications: the organization's email channel, templates per entity, and the message log.

Secrets of the email channel are stored encrypted (``notifications.crypto``) and never
leave the server again. A template renders in a sandbox against the merge fields its
entity declares (``notifications.merge_fields``). Every email the BSS sends is a
``Message`` row first; a worker claims the row, sends it once, and records the outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bss.core.models import TimeStampedModel


def _choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class EmailProtocol(models.TextChoices):
    SMTP = "smtp", _("Standard SMTP")
    GOOGLE = "google", _("Google (OAuth 2.0)")
    OFFICE365 = "office365", _("Office 365 (OAuth 2.0)")


class SmtpSecurity(models.TextChoices):
    NONE = "none", _("None")
    TLS = "tls", _("TLS (implicit, usually port 465)")
    STARTTLS = "starttls", _("STARTTLS (usually port 587)")


class EmailSettings(TimeStampedModel):
    """The organization's email preferences (one row): how every notification is sent."""

    Protocol = EmailProtocol
    Security = SmtpSecurity

    protocol = models.CharField(
        _("protocol"), max_length=20, choices=EmailProtocol.choices, default=EmailProtocol.SMTP
    )
    sender_email = models.EmailField(_("sender email address"), blank=True)
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    smtp_host = models.CharField(_("mail server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("port"), default=587)
    smtp_security = models.CharField(
        _("security"), max_length=20, choices=SmtpSecurity.choices, default=SmtpSecurity.STARTTLS
    )
    smtp_username = models.CharField(_("user name"), max_length=255, blank=True)
    smtp_password_encrypted = models.TextField(blank=True, editable=False)
    client_id = models.CharField(_("client id"), max_length=255, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    tenant_id = models.CharField(_("tenant id"), max_length=255, blank=True)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    authorized_at = models.DateTimeField(_("authorized at"), null=True, blank=True)
    oauth_state = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("email preferences")
        verbose_name_plural = _("email preferences")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="notifications_emailsettings_singleton"),
            _choices_check("protocol", EmailProtocol, "notifications_emailsettings_protocol_valid"),
            _choices_check(
                "smtp_security", SmtpSecurity, "notifications_emailsettings_security_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Email preferences"))

    @property
    def has_password(self) -> bool:
        return bool(self.smtp_password_encrypted)

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def is_authorized(self) -> bool:
        return bool(self.refresh_token_encrypted)


class Trigger(models.TextChoices):
    CREATED = "created", _("Record created")
    UPDATED = "updated", _("Record updated")
    DELETED = "deleted", _("Record deleted")
    EVENT = "event", _("A named event")
    PLAN_ONLY = "plan_only", _("Only as a step of a notification plan")


class WhenToSend(models.TextChoices):
    ONCE = "once", _("Once per record")
    EVERY_TIME = "every_time", _("Every time")


class ApplyRule(models.TextChoices):
    NEW_ONLY = "new_only", _("Only to records created after activation")
    ALL = "all", _("To all records")


class Attachment(models.TextChoices):
    NONE = "", _("No attachment")
    INVOICE_PDF = "invoice_pdf", _("Invoice PDF")
    OFFER_PDF = "offer_pdf", _("Offer PDF")


class NotificationTemplate(TimeStampedModel):
    """What to send, to whom and when, for one entity."""

    Trigger = Trigger
    WhenToSend = WhenToSend
    ApplyRule = ApplyRule
    Attachment = Attachment

    entity = models.CharField(_("entity"), max_length=30, db_index=True)
    code = models.SlugField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_system = models.BooleanField(_("system notification"), default=False, editable=False)
    is_internal = models.BooleanField(
        _("internal"), default=False, help_text=_("Goes to staff rather than to the customer.")
    )
    trigger = models.CharField(
        _("trigger"), max_length=20, choices=Trigger.choices, default=Trigger.CREATED
    )
    event_name = models.CharField(
        _("event"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("The domain event that sends it, e.g. invoice.issued."),
    )
    when_to_send = models.CharField(
        _("when to send"), max_length=20, choices=WhenToSend.choices, default=WhenToSend.EVERY_TIME
    )
    apply_rule = models.CharField(
        _("apply rule"), max_length=20, choices=ApplyRule.choices, default=ApplyRule.ALL
    )
    active_since = models.DateTimeField(_("active since"), null=True, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    from_address = models.CharField(
        _("from"),
        max_length=254,
        blank=True,
        help_text=_("Empty: the sender of the email preferences."),
    )
    recipients = models.JSONField(
        _("recipients"), default=dict, blank=True, help_text=_('{"to": [...], "cc": [...]}')
    )
    attachment = models.CharField(
        _("attachment"), max_length=20, choices=Attachment.choices, blank=True, default=""
    )

    # Templates are organization settings: the notifications module right decides.
    visibility_public = True

    class Meta:
        ordering = ["entity", "name"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        constraints = [
            _choices_check("trigger", Trigger, "notifications_template_trigger_valid"),
            _choices_check("when_to_send", WhenToSend, "notifications_template_when_valid"),
            _choices_check("apply_rule", ApplyRule, "notifications_template_apply_valid"),
            _choices_check("attachment", Attachment, "notifications_template_attachment_valid"),
            models.CheckConstraint(
                condition=~Q(trigger="event") | ~Q(event_name=""),
                name="notifications_template_event_named",
                violation_error_message=_("A template sent on an event names the event."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("notifications:template_edit", kwargs={"pk": self.pk})


class TemplateText(models.Model):
    """Subject and HTML body of a template in one language."""

    template = models.ForeignKey(
        NotificationTemplate, on_delete=models.CASCADE, related_name="texts"
    )
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=300)
    body_html = models.TextField(_("body (HTML)"))

    class Meta:
        ordering = ["template", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="notifications_text_one_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} [{self.language}]"


class NotifiedRecord(models.Model):
    """A record a "send once" template has already notified about; the pair is unique."""

    template = models.ForeignKey(
        NotificationTemplate, on_delete=models.CASCADE, related_name="notified_records"
    )
    record_id = models.CharField(max_length=64)
    notified_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "record_id"], name="notifications_notified_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id}:{self.record_id}"


class MessageStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for sending")
    SENDING = "sending", _("Sending")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Sending failed")
    GENERATION_ERROR = "generation_error", _("Generation error")


class Message(models.Model):
    """One email: rendered when its event arrives, sent once by a worker, kept as the log."""

    Status = MessageStatus

    template = models.ForeignKey(
        NotificationTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    event = models.ForeignKey(
        "core.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entity = models.CharField(_("entity"), max_length=30, blank=True)
    record_id = models.CharField(_("record"), max_length=64, blank=True)
    record_label = models.CharField(_("record"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    from_address = models.CharField(_("from"), max_length=300, blank=True)
    to = models.JSONField(_("to"), default=list, blank=True)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    bcc = models.JSONField(_("bcc"), default=list, blank=True)
    recipients_text = models.TextField(_("recipients"), blank=True, editable=False)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_html = models.TextField(_("body"), blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=MessageStatus.choices, default=MessageStatus.WAITING
    )
    error = models.TextField(_("error"), blank=True)
    server_response = models.TextField(_("server response"), blank=True)
    retry_count = models.PositiveIntegerField(_("retries"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Messages belong to the organization; the notifications module right decides.
    visibility_public = True

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification message")
        verbose_name_plural = _("notification log")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notifications_msg_due_idx")
        ]
        constraints = [
            _choices_check("status", MessageStatus, "notifications_message_status_valid"),
            # An event makes at most one message per template, however often it is dispatched.
            models.UniqueConstraint(
                fields=["event", "template"],
                condition=Q(event__isnull=False, template__isnull=False, resent_from__isnull=True),
                name="notifications_message_once_per_event",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("notifications:message_detail", kwargs={"pk": self.pk})

    @property
    def all_recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]
