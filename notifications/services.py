"""Every write of the notifications app: email preferences, templates, messages and sending.

Sending is split in two. When an event arrives (``handle_event``, run by the outbox in
the transaction of its delivery record) the matching templates are rendered into
``Message`` rows that wait. After commit a task sends each one: it claims the row with a
conditional update, talks to the mail server outside any transaction, and records the
outcome only while it still holds the claim. Transient failures wait for a later
attempt with exponential backoff, which the beat task ``send_due_messages`` makes; so
a message survives a dead broker or mail server and is sent when they return.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bss.core.audit import acting_as
from bss.core.events import emit_event
from bss.core.models import Event
from notifications import recipients as recipient_rules
from notifications import transport
from notifications.conditions import conditions_hold, validate_conditions
from notifications.crypto import encrypt
from notifications.event_catalogue import KNOWN_EVENTS
from notifications.merge_fields import EntityProvider, RenderInput, provider_for, providers
from notifications.models import (
    EmailProtocol,
    EmailSettings,
    Message,
    MessageStatus,
    NotificationTemplate,
    NotifiedRecord,
    SmtpSecurity,
    TemplateText,
    Trigger,
)
from notifications.sandbox import TemplateRefused, check_template, render, render_subject

logger = logging.getLogger(__name__)

SEND_TIME_LIMIT = 180
# Longer than a send may live, so a claim is only taken over from a dead worker.
CLAIM_TIMEOUT = timedelta(seconds=SEND_TIME_LIMIT + 60)
MAX_BACKOFF = timedelta(hours=6)


# ======================================================================== email preferences


def email_settings() -> EmailSettings:
    channel, _created = EmailSettings.objects.get_or_create(pk=1)
    return channel


def email_settings_update(
    *,
    actor: Any,
    protocol: str,
    sender_email: str,
    sender_name: str = "",
    smtp_host: str = "",
    smtp_port: int = 587,
    smtp_security: str = SmtpSecurity.STARTTLS,
    smtp_username: str = "",
    smtp_password: str | None = None,
    client_id: str = "",
    client_secret: str | None = None,
    tenant_id: str = "",
) -> EmailSettings:
    """Save the preferences; a secret given as None keeps the stored one."""
    with transaction.atomic(), acting_as(actor):
        channel = EmailSettings.objects.select_for_update().get(pk=email_settings().pk)
        if protocol not in EmailProtocol.values:
            raise ValidationError({"protocol": _("Choose a protocol.")})
        if smtp_security not in SmtpSecurity.values:
            raise ValidationError({"smtp_security": _("Choose the connection security.")})
        if not 0 < int(smtp_port) < 65536:
            raise ValidationError({"smtp_port": _("A port is a number from 1 to 65535.")})
        has_secret = bool(client_secret) or (client_secret is None and channel.has_client_secret)
        if not sender_email:
            raise ValidationError({"sender_email": _("Enter the address the emails come from.")})
        if protocol == EmailProtocol.SMTP and not smtp_host:
            raise ValidationError({"smtp_host": _("Enter the mail server's host name.")})
        if protocol in (EmailProtocol.GOOGLE, EmailProtocol.OFFICE365):
            if not client_id:
                raise ValidationError({"client_id": _("Enter the client id of the app.")})
            if not has_secret:
                raise ValidationError({"client_secret": _("Enter the client secret of the app.")})
        if protocol == EmailProtocol.OFFICE365 and not tenant_id:
            raise ValidationError({"tenant_id": _("Enter the tenant id of the Azure directory.")})
        if protocol != channel.protocol or client_id != channel.client_id:
            # A refresh token belongs to one client of one provider.
            channel.refresh_token_encrypted = ""
            channel.authorized_at = None
        channel.protocol = protocol
        channel.sender_email = sender_email
        channel.sender_name = sender_name
        channel.smtp_host = smtp_host
        channel.smtp_port = int(smtp_port)
        channel.smtp_security = smtp_security
        channel.smtp_username = smtp_username
        channel.client_id = client_id
        channel.tenant_id = tenant_id
        if smtp_password is not None:
            channel.smtp_password_encrypted = encrypt(smtp_password)
        if client_secret is not None:
            channel.client_secret_encrypted = encrypt(client_secret)
        channel.save()
        emit_event(
            "email_settings.updated", actor=actor, aggregate=channel, payload={"protocol": protocol}
        )
    return channel


def google_authorization_start(*, actor: Any, redirect_uri: str) -> str:
    """Remember a state value and return the address of Google's consent page."""
    with transaction.atomic(), acting_as(actor):
        channel = EmailSettings.objects.select_for_update().get(pk=email_settings().pk)
        if channel.protocol != EmailProtocol.GOOGLE or not channel.client_id:
            raise ValidationError(_("Save the Google client id and secret first."))
        channel.oauth_state = secrets.token_urlsafe(32)
        channel.save(update_fields=["oauth_state", "updated_at"])
    return transport.google_authorization_url(channel, redirect_uri, channel.oauth_state)


def google_authorization_complete(
    *, actor: Any, state: str, code: str, redirect_uri: str
) -> EmailSettings:
    """Exchange the code Google sent back for a refresh token and store it encrypted."""
    channel = email_settings()
    if (
        not state
        or not channel.oauth_state
        or not secrets.compare_digest(state, channel.oauth_state)
    ):
        raise ValidationError(_("The authorization answer does not match the request; try again."))
    if not code:
        raise ValidationError(_("Google sent no authorization code."))
    try:
        refresh_token = transport.google_exchange_code(channel, code, redirect_uri)
    except transport.SendError as error:
        raise ValidationError(str(error)) from error
    with transaction.atomic(), acting_as(actor):
        channel = EmailSettings.objects.select_for_update().get(pk=channel.pk)
        channel.refresh_token_encrypted = encrypt(refresh_token)
        channel.authorized_at = timezone.now()
        channel.oauth_state = ""
        channel.save(
            update_fields=["refresh_token_encrypted", "authorized_at", "oauth_state", "updated_at"]
        )
    return channel


def send_test_email(*, actor: Any) -> Message:
    """Send a test email to the acting user now and return its log row with the answer."""
    if not getattr(actor, "email", ""):
        raise ValidationError(_("Your user has no email address."))
    channel = email_settings()
    message = Message.objects.create(
        entity="",
        record_label=_("Test email"),
        from_address=transport.sender_of(channel),
        to=[actor.email],
        recipients_text=actor.email,
        subject=_("Test email from %(org)s") % {"org": _organization_name()},
        body_html="<p>"
        + _("This is a test email. The email preferences of the BSS work.")
        + "</p>",
        created_by=actor,
    )
    deliver_message(message.pk, final=True)
    message.refresh_from_db()
    return message


def _organization_name() -> str:
    from bss.setup.organization.selectors import organization_name

    return organization_name()


# ======================================================================== templates


@dataclass
class TextInput:
    language: str
    subject: str
    body_html: str


def _check_texts(provider: EntityProvider, texts: list[TextInput]) -> list[TextInput]:
    codes = provider.codes()
    filled = [text for text in texts if text.subject.strip() or text.body_html.strip()]
    if not filled:
        raise ValidationError(
            {f"subject_{settings.LANGUAGE_CODE}": _("Enter the subject and body in a language.")}
        )
    for text in filled:
        if not text.subject.strip():
            raise ValidationError({f"subject_{text.language}": _("Enter the subject.")})
        if not text.body_html.strip():
            raise ValidationError({f"body_{text.language}": _("Enter the body.")})
        for field_name, source in (
            (f"subject_{text.language}", text.subject),
            (f"body_{text.language}", text.body_html),
        ):
            try:
                check_template(source, codes)
            except TemplateRefused as error:
                raise ValidationError({field_name: str(error)}) from error
    return filled


def _check_recipients(recipients: dict[str, list[str]]) -> dict[str, list[str]]:
    cleaned: dict[str, list[str]] = {}
    for kind in recipient_rules.KINDS:
        entries = recipients.get(kind) or []
        result = []
        for entry in entries:
            try:
                result.append(recipient_rules.validate_entry(str(entry)))
            except ValidationError as error:
                raise ValidationError({kind: error.messages}) from error
        cleaned[kind] = list(dict.fromkeys(result))
    if not cleaned["to"]:
        raise ValidationError({"to": _("Choose at least one recipient.")})
    return cleaned


def template_save(
    *,
    actor: Any,
    template: NotificationTemplate | None = None,
    entity: str,
    code: str,
    name: str,
    texts: list[TextInput],
    trigger: str = Trigger.CREATED,
    event_name: str = "",
    when_to_send: str = NotificationTemplate.WhenToSend.EVERY_TIME,
    apply_rule: str = NotificationTemplate.ApplyRule.ALL,
    conditions: list[dict[str, str]] | None = None,
    from_address: str = "",
    recipients: dict[str, list[str]] | None = None,
    attachment: str = "",
    is_active: bool = True,
    is_internal: bool = False,
    description: str = "",
) -> NotificationTemplate:
    """Create or change a template; a template outside the sandbox is refused with the reason."""
    provider = provider_for(entity)
    if provider is None:
        raise ValidationError({"entity": _("Choose an entity.")})
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": _("Choose when the notification is sent.")})
    event_name = event_name.strip()
    if trigger == Trigger.EVENT and not event_name:
        raise ValidationError({"event_name": _("Name the event that sends this notification.")})
    if trigger == Trigger.EVENT and event_name not in KNOWN_EVENTS:
        raise ValidationError(
            {"event_name": _("%(name)s is not an event the BSS emits.") % {"name": event_name}}
        )
    if trigger != Trigger.EVENT:
        event_name = ""
    if attachment not in NotificationTemplate.Attachment.values:
        raise ValidationError({"attachment": _("Choose an attachment option.")})
    if attachment == "invoice_pdf" and entity not in ("invoice",):
        raise ValidationError(
            {"attachment": _("Only invoice notifications attach an invoice PDF.")}
        )
    if attachment == "offer_pdf" and entity != "offer":
        raise ValidationError({"attachment": _("Only offer notifications attach an offer PDF.")})
    cleaned_conditions = validate_conditions(conditions or [], provider.codes())
    cleaned_recipients = _check_recipients(recipients or {})
    filled = _check_texts(provider, texts)
    with transaction.atomic(), acting_as(actor):
        is_new = template is None
        if template is None:
            if NotificationTemplate.objects.filter(code=code).exists():
                raise ValidationError({"code": _("Another template uses this code.")})
            template = NotificationTemplate(code=code)
        else:
            template = NotificationTemplate.objects.select_for_update().get(pk=template.pk)
            if template.entity != entity and template.is_system:
                raise ValidationError({"entity": _("A system notification keeps its entity.")})
        was_active = template.is_active and not is_new
        template.entity = entity
        template.name = name
        template.description = description
        template.trigger = trigger
        template.event_name = event_name
        template.when_to_send = when_to_send
        template.apply_rule = apply_rule
        template.conditions = cleaned_conditions
        template.from_address = from_address
        template.recipients = cleaned_recipients
        template.attachment = attachment
        template.is_internal = is_internal
        template.is_active = is_active
        if is_active and not was_active:
            template.active_since = timezone.now()
        template.save()
        languages = [text.language for text in filled]
        template.texts.exclude(language__in=languages).delete()
        for text in filled:
            TemplateText.objects.update_or_create(
                template=template,
                language=text.language,
                defaults={"subject": text.subject, "body_html": text.body_html},
            )
        emit_event(
            "notification_template.created" if is_new else "notification_template.updated",
            actor=actor,
            aggregate=template,
            payload={"code": template.code},
        )
    return template


def template_set_active(
    *, actor: Any, template: NotificationTemplate, active: bool
) -> NotificationTemplate:
    with transaction.atomic(), acting_as(actor):
        template = NotificationTemplate.objects.select_for_update().get(pk=template.pk)
        if template.is_active == active:
            return template
        template.is_active = active
        fields = ["is_active", "updated_at"]
        if active:
            template.active_since = timezone.now()
            fields.append("active_since")
        template.save(update_fields=fields)
        emit_event(
            "notification_template.activated" if active else "notification_template.deactivated",
            actor=actor,
            aggregate=template,
            payload={"code": template.code},
        )
    return template


def template_delete(*, actor: Any, template: NotificationTemplate) -> None:
    if template.is_system:
        raise ValidationError(
            _("%(name)s is a system notification: deactivate it instead.") % {"name": template}
        )
    with transaction.atomic(), acting_as(actor):
        payload = {"code": template.code}
        emit_event("notification_template.deleted", actor=actor, payload=payload)
        template.delete()


# ======================================================================== rendering


def _language_for(template_texts: dict[str, TemplateText], account: Any) -> str:
    from bss.setup.organization.selectors import organization

    for language in (
        getattr(account, "language", "") or "",
        organization().default_language,
        settings.LANGUAGE_CODE,
    ):
        if language and language in template_texts:
            return language
    return next(iter(template_texts))


@dataclass
class Rendered:
    language: str
    subject: str
    body_html: str
    values: dict[str, Any]
    account: Any
    contact: Any


def render_for(
    template: NotificationTemplate,
    source: RenderInput,
    *,
    texts: list[TextInput] | None = None,
) -> Rendered:
    """Subject and body of a template (or of unsaved texts) for one record."""
    provider = provider_for(template.entity)
    if provider is None:
        raise TemplateRefused(
            _("No merge fields are known for %(entity)s.") % {"entity": template.entity}
        )
    if texts is None:
        by_language = {text.language: text for text in template.texts.all()}
    else:
        by_language = {
            text.language: TemplateText(
                language=text.language, subject=text.subject, body_html=text.body_html
            )
            for text in texts
            if text.subject.strip() or text.body_html.strip()
        }
    if not by_language:
        raise TemplateRefused(_("The template has no subject and body."))
    values = provider.values(source)
    account = provider.account_of(source.record)
    if account is None and source.event is not None:
        from notifications.merge_fields import _account_from_payload

        account = _account_from_payload(source.event)
    language = _language_for(by_language, account)
    text = by_language[language]
    return Rendered(
        language=language,
        subject=render_subject(text.subject, values),
        body_html=render(text.body_html, values, part=str(_("Body"))),
        values=values,
        account=account,
        contact=provider.contact_of(source.record, account),
    )


# ======================================================================== dispatch


def templates_for_event(event: Event) -> list[NotificationTemplate]:
    matches = Q(trigger=Trigger.EVENT, event_name=event.name)
    for provider in providers():
        for trigger in (Trigger.CREATED, Trigger.UPDATED, Trigger.DELETED):
            if event.name in provider.trigger_events(trigger):
                matches |= Q(entity=provider.entity, trigger=trigger)
    return list(
        NotificationTemplate.objects.filter(matches, is_active=True)
        .prefetch_related("texts")
        .order_by("pk")
    )


def handle_event(event: Event) -> None:
    """The outbox handler: one waiting message per matching active template."""
    created = []
    for template in templates_for_event(event):
        message = message_for_event(template, event)
        if message is not None and message.status == MessageStatus.WAITING:
            created.append(message.pk)
    for message_id in created:
        transaction.on_commit(partial(enqueue_send, message_id))


def _is_new_enough(template: NotificationTemplate, record: Any) -> bool:
    if template.apply_rule != NotificationTemplate.ApplyRule.NEW_ONLY or record is None:
        return True
    created_at = getattr(record, "created_at", None)
    return (
        created_at is None or template.active_since is None or created_at >= template.active_since
    )


def message_for_event(template: NotificationTemplate, event: Event) -> Message | None:
    """Render a template for an event; None when its rules say no message is due."""
    provider = provider_for(template.entity)
    if provider is None:
        return None
    record = provider.record_of_event(event)
    record_id = provider.record_id_of_event(event)
    if not _is_new_enough(template, record):
        return None
    source = RenderInput(entity=template.entity, record=record, event=event)
    base = {
        "template": template,
        "event": event,
        "entity": template.entity,
        "record_id": record_id,
        "record_label": provider.describe(record) or str((event.payload or {}).get("number") or ""),
    }
    try:
        values = provider.values(source)
    except Exception as error:  # a broken provider must not block the other templates
        logger.exception("notifications: merge fields of %s failed", template.code)
        return _message_create(**base, status=MessageStatus.GENERATION_ERROR, error=str(error))
    changed = list((event.payload or {}).get("fields") or [])
    if template.conditions and not conditions_hold(template.conditions, values, changed):
        return None
    if _names_nobody(template, event):
        return None
    if template.when_to_send == NotificationTemplate.WhenToSend.ONCE and record_id:
        try:
            with transaction.atomic():
                NotifiedRecord.objects.create(template=template, record_id=record_id)
        except IntegrityError:
            return None
    try:
        rendered = render_for(template, source)
        attachments = _attachments_of(template, record)
    except (TemplateRefused, ValidationError) as error:
        text = str(error) if isinstance(error, TemplateRefused) else " ".join(error.messages)
        return _message_create(**base, status=MessageStatus.GENERATION_ERROR, error=text)
    context = recipient_rules.RecipientContext(
        account=rendered.account, contact=rendered.contact, actor=event.actor, event=event
    )
    addresses = {
        kind: recipient_rules.resolve(template.recipients.get(kind) or [], context)
        for kind in recipient_rules.KINDS
    }
    status, error = MessageStatus.WAITING, ""
    if not addresses["to"]:
        status = MessageStatus.GENERATION_ERROR
        error = _("No recipient: none of %(roles)s has an email address.") % {
            "roles": ", ".join(template.recipients.get("to") or [])
        }
    return _message_create(
        **base,
        status=status,
        error=error,
        language=rendered.language,
        from_address=template.from_address or transport.sender_of(email_settings()),
        to=addresses["to"],
        cc=addresses["cc"],
        bcc=addresses["bcc"],
        subject=rendered.subject,
        body_html=rendered.body_html,
        attachments=attachments,
    )


def _names_nobody(template: NotificationTemplate, event: Event) -> bool:
    """A template addressed only to the event's chosen contacts has nothing to send when
    the event chose none (an offer shared as a link only)."""
    to = template.recipients.get("to") or []
    return (
        bool(to)
        and all(entry == recipient_rules.EVENT_RECIPIENTS for entry in to)
        and not recipient_rules.event_recipient_addresses(event)
    )


def _attachments_of(template: NotificationTemplate, record: Any) -> list[dict[str, Any]]:
    if not template.attachment:
        return []
    if record is None:
        raise ValidationError(_("The record of the attachment no longer exists."))
    if template.attachment == "invoice_pdf":
        if not getattr(record, "number", None):
            raise ValidationError(_("A draft invoice has no PDF to attach."))
        return [{"kind": "invoice_pdf", "id": record.pk, "filename": f"{record.number}.pdf"}]
    return [{"kind": template.attachment, "id": record.pk, "filename": f"{record}.pdf"}]


def _message_create(**fields: Any) -> Message:
    fields["recipients_text"] = ", ".join(
        [*fields.get("to", []), *fields.get("cc", []), *fields.get("bcc", [])]
    )
    return Message.objects.create(**fields)


def message_resend(*, actor: Any, message: Message) -> Message:
    """Queue a copy of a logged message to the same recipients."""
    if message.status == MessageStatus.GENERATION_ERROR:
        raise ValidationError(_("A message that could not be generated cannot be resent."))
    if not message.to:
        raise ValidationError(_("The message has no recipient."))
    with transaction.atomic(), acting_as(actor):
        copy = _message_create(
            template=message.template,
            event=message.event,
            entity=message.entity,
            record_id=message.record_id,
            record_label=message.record_label,
            language=message.language,
            from_address=message.from_address,
            to=message.to,
            cc=message.cc,
            bcc=message.bcc,
            subject=message.subject,
            body_html=message.body_html,
            attachments=message.attachments,
            resent_from=message,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        transaction.on_commit(partial(enqueue_send, copy.pk))
    return copy


# ======================================================================== sending


def enqueue_send(message_id: int) -> None:
    from notifications.tasks import send_message

    try:
        send_message.delay(message_id)
    except Exception as error:
        # The message is committed and waits; the beat task sends it once the broker is back.
        logger.warning("notifications: message %s not queued (%s)", message_id, error)


def claim_message(message_id: int) -> Message | None:
    """Take a due message with a conditional update so two workers never send it at once."""
    now = timezone.now()
    due = Q(status=MessageStatus.WAITING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=MessageStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
    claimed = Message.objects.filter(due | stale, pk=message_id).update(
        status=MessageStatus.SENDING, claimed_at=now
    )
    return Message.objects.get(pk=message_id) if claimed else None


def _attachment_files(message: Message) -> list[tuple[str, bytes, str]]:
    files = []
    for attachment in message.attachments:
        if attachment.get("kind") == "invoice_pdf":
            from billing.models import Invoice
            from billing.pdf import invoice_pdf_bytes

            invoice = Invoice.objects.filter(pk=attachment.get("id")).first()
            content = invoice_pdf_bytes(invoice) if invoice is not None else None
        elif attachment.get("kind") == "offer_pdf":
            content = _offer_pdf(attachment.get("id"))
        else:
            content = None
        if content is None:
            raise transport.PermanentSendError(
                f"The attachment {attachment.get('filename', '')} is not available."
            )
        files.append((attachment.get("filename") or "document.pdf", content, "application/pdf"))
    return files


def _offer_pdf(offer_id: Any) -> bytes | None:
    """The offer's PDF as the offers module renders it (in the offer's language)."""
    from offers.models import Offer
    from offers.pdf import render_offer_pdf

    offer = Offer.objects.select_related("account").filter(pk=offer_id).first()
    return render_offer_pdf(offer) if offer is not None else None


def _backoff(retry_count: int) -> timedelta:
    delay = timedelta(
        seconds=settings.NOTIFICATIONS_RETRY_BASE_SECONDS * 2 ** max(retry_count - 1, 0)
    )
    return min(delay, MAX_BACKOFF)


def deliver_message(message_id: int, *, final: bool = False) -> Message | None:
    """Send one message if it is due; safe to call twice or from two workers at once.

    ``final`` (the test email) records a transient failure as failed: nobody waits for it.
    """
    message = claim_message(message_id)
    if message is None:
        return None
    outcome: dict[str, Any]
    try:
        email = transport.OutgoingEmail(
            from_address=message.from_address or transport.sender_of(email_settings()),
            to=list(message.to),
            cc=list(message.cc),
            bcc=list(message.bcc),
            subject=message.subject,
            html=message.body_html,
            attachments=_attachment_files(message),
            message_id=f"<bss-notification-{message.pk}@{_message_domain()}>",
        )
        answer = transport.send(email_settings(), email)
    except Exception as unexpected:
        error = (
            unexpected
            if isinstance(unexpected, transport.SendError)
            else transport.TransientSendError(f"{unexpected.__class__.__name__}: {unexpected}")
        )
        retries = message.retry_count + 1
        gave_up = not error.transient or final or retries >= settings.NOTIFICATIONS_MAX_ATTEMPTS
        outcome = {
            "status": MessageStatus.FAILED if gave_up else MessageStatus.WAITING,
            "error": str(error)[:4000],
            "retry_count": retries if error.transient else message.retry_count,
            "next_attempt_at": None if gave_up else timezone.now() + _backoff(retries),
        }
        logger.warning("notifications: message %s not sent: %s", message.pk, error)
    else:
        outcome = {
            "status": MessageStatus.COMPLETED,
            "sent_at": timezone.now(),
            "server_response": answer[:2000],
            "error": "",
            "next_attempt_at": None,
        }
    # Only the holder of the claim records the outcome (see CLAIM_TIMEOUT).
    recorded = Message.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, claimed_at=message.claimed_at
    ).update(**outcome)
    if not recorded:
        logger.warning("notifications: message %s was taken over before it was sent", message.pk)
    return message


def _message_domain() -> str:
    from urllib.parse import urlparse

    return urlparse(settings.SITE_URL).hostname or "bss.localhost"


def due_message_ids(limit: int) -> list[int]:
    now = timezone.now()
    due = Q(status=MessageStatus.WAITING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=MessageStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
    return list(
        Message.objects.filter(due | stale)
        .order_by("retry_count", "pk")
        .values_list("pk", flat=True)[:limit]
    )
