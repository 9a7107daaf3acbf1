"""Platform tables shared by every app: the event outbox, API idempotency keys, worker beats."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class OwnedRecord(TimeStampedModel):
    """A business record with an owner and a permission rule (see bss.core.visibility)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    custom_data = models.JSONField(_("custom fields"), default=dict, blank=True)

    visibility_owner_field = "owner"

    class Meta:
        abstract = True


class Event(models.Model):
    """A domain event written in the transaction of the change it reports (the outbox).

    Dispatch happens after commit; the sweep re-sends what a lost broker message missed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DISPATCHING = "dispatching", _("Dispatching")
        DISPATCHED = "dispatched", _("Dispatched")
        FAILED = "failed", _("Failed")

    name = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    aggregate_type = models.CharField(max_length=100, blank=True)
    aggregate_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="core_event_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "dispatching", "dispatched", "failed"]),
                name="core_event_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class EventDelivery(models.Model):
    """One handler's receipt of one event; the unique pair makes delivery exactly-once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="core_eventdelivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.handler} <- event {self.event_id}"


class IdempotencyKey(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed on retries."""

    key = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="core_idempotencykey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class WorkerHeartbeat(models.Model):
    """Written by a beat-scheduled task; /healthz reads its age to tell if workers run."""

    hostname = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname


class NumberSequence(models.Model):
    """A named counter for record numbers; taken FOR UPDATE so numbers never repeat."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=20, blank=True)
    padding = models.PositiveSmallIntegerField(default=6)
    next_value = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class ConsentRecord(models.Model):
    """A customer's consent: terms of use accepted, or personal-data opt-in given or withdrawn."""

    class Kind(models.TextChoices):
        TERMS_OF_USE = "terms_of_use", _("Terms of use")
        PERSONAL_DATA = "personal_data", _("Personal data opt-in")
        PERSONAL_DATA_WITHDRAWN = "personal_data_withdrawn", _("Personal data opt-out")
        OFFER_ACCEPTANCE = "offer_acceptance", _("Offer acceptance")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    account_id = models.BigIntegerField(_("account id"), null=True, blank=True, db_index=True)
    account_name = models.CharField(_("account"), max_length=200, blank=True)
    contact_id = models.BigIntegerField(_("contact id"), null=True, blank=True)
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("email"), blank=True)
    subject = models.CharField(_("what was accepted"), max_length=300)
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("Order or offer number")
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=500, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), db_index=True)

    class Meta:
        ordering = ["-accepted_at"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
